#!/bin/sh
# Re-extract the UI's strings into hbm.pot and merge them into the fr and ar catalogs.
# Run from the repository root with the virtualenv's pybabel on PATH; then translate the empty msgstr
# entries and run `pytest tests/test_i18n.py`. See docs/languages.md.
set -e
pybabel extract -F layers/locale/babel.cfg -k N_ -k ngettext:1,2 --add-location=file --sort-output --no-wrap \
  --project=hbm-dashboard --copyright-holder="HBM dashboard contributors" -o layers/locale/hbm.pot .
pybabel update -D hbm -i layers/locale/hbm.pot -d layers/locale --no-wrap --no-fuzzy-matching --ignore-obsolete
