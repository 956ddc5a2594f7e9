; Huiyin 回音 — Windows installer (NSIS 3, Unicode, MUI2, per-machine or per-user).
;
; Build (from the repository root, after `pyinstaller --noconfirm build.spec`):
;   makensis /DVERSION=0.1.0 /DPAYLOAD=dist\huiyin /DOUTFILE=dist\huiyin-0.1.0-setup.exe installer\huiyin.nsi
; All three defines are optional. /DCOMPRESSOR=zlib gives a quick, larger build.
; Relative paths are resolved against this script's folder (installer\).
;
; Silent install:   huiyin-0.1.0-setup.exe /S [/AllUsers | /CurrentUser] [/D=C:\path]
; Silent removal:   "<install dir>\uninstall.exe" /S
;
; The uninstaller removes only the program files. User data is never touched:
; %LOCALAPPDATA%\Huiyin (default data folder), a folder given by HUIYIN_HOME or
; --basedir, and — in portable mode — portable.txt and data\ in the install folder.

Unicode true
ManifestDPIAware true

!ifndef VERSION
  !define VERSION "0.0.0"
!endif
!ifndef PAYLOAD
  !define PAYLOAD "..\dist\huiyin"
!endif
!ifndef OUTFILE
  !define OUTFILE "..\dist\huiyin-${VERSION}-setup.exe"
!endif
!ifndef COMPRESSOR
  !define COMPRESSOR "lzma"
!endif

; VIProductVersion wants exactly four numbers: "0.1.0" -> "0.1.0.0"
!searchparse /noerrors "${VERSION}.0.0.0" "" VER_MAJOR "." VER_MINOR "." VER_PATCH "."
!searchparse /noerrors "${VER_PATCH}" "" VER_PATCH_NUM "-"
!ifndef VER_PATCH_NUM
  !define VER_PATCH_NUM "${VER_PATCH}"
!endif

!define APP_NAME "回音 Huiyin"
!define APP_ID "Huiyin"
!define APP_EXE "huiyin.exe"
!define APP_CLI_EXE "huiyin-cli.exe"
!define PUBLISHER "Huiyin"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APP_ID}"
!define APP_KEY "Software\${APP_ID}"
!define SHORTCUT_NAME "回音"

Name "${APP_NAME}"
OutFile "${OUTFILE}"
SetCompressor /SOLID ${COMPRESSOR}
BrandingText "${APP_NAME} ${VERSION}"

VIProductVersion "${VER_MAJOR}.${VER_MINOR}.${VER_PATCH_NUM}.0"
VIAddVersionKey /LANG=2052 "ProductName" "${APP_NAME}"
VIAddVersionKey /LANG=2052 "FileDescription" "${APP_NAME} 安装程序"
VIAddVersionKey /LANG=2052 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=2052 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=2052 "CompanyName" "${PUBLISHER}"
VIAddVersionKey /LANG=2052 "LegalCopyright" "${PUBLISHER}"

; ------------------------------------------------------------------ MultiUser
; Highest: admins get the choice (default: all users, C:\Program Files\Huiyin);
; standard users install for themselves (%LOCALAPPDATA%\Programs\Huiyin) without UAC.
!define MULTIUSER_EXECUTIONLEVEL Highest
!define MULTIUSER_MUI
!define MULTIUSER_INSTALLMODE_COMMANDLINE
!define MULTIUSER_USE_PROGRAMFILES64
!define MULTIUSER_INSTALLMODE_INSTDIR "${APP_ID}"
!define MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_KEY "${APP_KEY}"
!define MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_VALUENAME "InstallDir"
!define MULTIUSER_INSTALLMODE_DEFAULT_REGISTRY_KEY "${APP_KEY}"
!define MULTIUSER_INSTALLMODE_DEFAULT_REGISTRY_VALUENAME "InstallMode"
!define MULTIUSER_INIT_TEXT_ADMINREQUIRED "安装“${APP_NAME}”需要管理员权限。"
!define MULTIUSER_INIT_TEXT_ALLUSERSNOTPOSSIBLE "当前账户没有为本机所有用户安装的权限，请以管理员身份运行，或改为“只为我自己安装”（/CurrentUser）。"

!include MultiUser.nsh
!include MUI2.nsh
!include LogicLib.nsh
!include x64.nsh

; ---------------------------------------------------------------------- pages
!define MUI_ABORTWARNING
!define MUI_UNABORTWARNING
; No "run now" box on the finish page: an elevated installer would start the app as the
; administrator, and its data would land in the administrator's profile.

!insertmacro MUI_PAGE_WELCOME
!insertmacro MULTIUSER_PAGE_INSTALLMODE
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

; The first language is the default; NSIS picks English on an English Windows UI.
!insertmacro MUI_LANGUAGE "SimpChinese"
!insertmacro MUI_LANGUAGE "English"

LangString DESC_DATA_KEPT ${LANG_SIMPCHINESE} "已保留用户数据（知识库、索引、配置），如需彻底删除请手动删除数据文件夹。"
LangString DESC_DATA_KEPT ${LANG_ENGLISH} "User data (knowledge base, index, settings) was kept; delete the data folder by hand to remove it."
LangString DESC_NEED_X64 ${LANG_SIMPCHINESE} "${APP_NAME} 需要 64 位 Windows 10 或更新版本。"
LangString DESC_NEED_X64 ${LANG_ENGLISH} "${APP_NAME} needs 64-bit Windows 10 or later."

; -------------------------------------------------------------------- install
Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_OK|MB_ICONSTOP "$(DESC_NEED_X64)"
    Abort
  ${EndIf}
  SetRegView 64
  ; MultiUser overwrites $INSTDIR with its default folder; keep a folder given with /D=
  ; (there is no InstallDir attribute, so $INSTDIR is empty unless /D= was passed).
  StrCpy $0 $INSTDIR
  !insertmacro MULTIUSER_INIT
  ${If} $0 != ""
    StrCpy $INSTDIR $0
  ${EndIf}
FunctionEnd

Section "!${APP_NAME}" SecMain
  SectionIn RO
  SetOutPath "$INSTDIR"

  ; Upgrade: remove the previous program files first (stale libraries break PyInstaller bundles).
  ; Only files this installer owns; data\ and portable.txt (portable mode) stay.
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\${APP_EXE}"
  Delete "$INSTDIR\${APP_CLI_EXE}"

  File /r "${PAYLOAD}\*.*"

  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; Shortcuts (all users or current user, following the install mode)
  CreateDirectory "$SMPROGRAMS\${APP_NAME}"
  CreateShortcut "$SMPROGRAMS\${APP_NAME}\${SHORTCUT_NAME}.lnk" "$INSTDIR\${APP_EXE}" "" "$INSTDIR\${APP_EXE}" 0
  CreateShortcut "$SMPROGRAMS\${APP_NAME}\卸载 ${SHORTCUT_NAME}.lnk" "$INSTDIR\uninstall.exe"
  CreateShortcut "$DESKTOP\${SHORTCUT_NAME}.lnk" "$INSTDIR\${APP_EXE}" "" "$INSTDIR\${APP_EXE}" 0

  ; Remember mode and folder (read back by MultiUser on upgrade / uninstall)
  WriteRegStr SHCTX "${APP_KEY}" "InstallDir" "$INSTDIR"
  WriteRegStr SHCTX "${APP_KEY}" "InstallMode" "$MultiUser.InstallMode"
  WriteRegStr SHCTX "${APP_KEY}" "Version" "${VERSION}"

  ; "Apps & features" entry
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayName" "${APP_NAME}"
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr SHCTX "${UNINST_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\${APP_EXE}"
  WriteRegStr SHCTX "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr SHCTX "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe" /$MultiUser.InstallMode'
  WriteRegStr SHCTX "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /$MultiUser.InstallMode /S'
  WriteRegDWORD SHCTX "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD SHCTX "${UNINST_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD SHCTX "${UNINST_KEY}" "EstimatedSize" "$0"
SectionEnd

; ------------------------------------------------------------------ uninstall
Function un.onInit
  SetRegView 64
  !insertmacro MULTIUSER_UNINIT
FunctionEnd

Section "Uninstall"
  ; Program files only. Never RMDir /r "$INSTDIR": in portable mode data\ lives there.
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\${APP_EXE}"
  Delete "$INSTDIR\${APP_CLI_EXE}"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"  ; only if empty

  Delete "$DESKTOP\${SHORTCUT_NAME}.lnk"
  Delete "$SMPROGRAMS\${APP_NAME}\${SHORTCUT_NAME}.lnk"
  Delete "$SMPROGRAMS\${APP_NAME}\卸载 ${SHORTCUT_NAME}.lnk"
  RMDir "$SMPROGRAMS\${APP_NAME}"

  DeleteRegKey SHCTX "${UNINST_KEY}"
  DeleteRegKey SHCTX "${APP_KEY}"

  ; %LOCALAPPDATA%\Huiyin (knowledge base, index, huiyin.ini, logs) is left alone on purpose.
  DetailPrint "$(DESC_DATA_KEPT)"
SectionEnd
