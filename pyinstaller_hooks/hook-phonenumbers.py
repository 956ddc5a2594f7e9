"""Replaces pyinstaller-hooks-contrib's hook-phonenumbers (which collects *every* submodule).

Huiyin only parses, validates and formats numbers (kb/phones.py). The geocoder,
carrier and time-zone data (~43 MB of modules) are left out; build.spec also
lists them in ``excludes`` so a stray import fails loudly in the frozen self-test.
"""

from PyInstaller.utils.hooks import collect_submodules

_UNUSED = ("phonenumbers.geodata", "phonenumbers.geocoder", "phonenumbers.carrierdata",
           "phonenumbers.carrier", "phonenumbers.timezone", "phonenumbers.tzdata")

# phonenumbers loads region metadata lazily with __import__, so the data modules must be named.
hiddenimports = collect_submodules("phonenumbers", filter=lambda name: not name.startswith(_UNUSED))
