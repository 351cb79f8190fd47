#!/usr/bin/env python3
"""Checks journals against docs/schema/journal.schema.json: check_journal.py SCHEMA JOURNAL...
Prints each problem with its JSON path; exits 1 if there is one, 77 if jsonschema is missing."""
import json
import sys

try:
    import jsonschema
except ImportError:
    print("SKIP: python3-jsonschema is not installed (scripts/install-deps.sh installs it)")
    sys.exit(77)

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
bad = 0
for path in sys.argv[2:]:
    for error in validator.iter_errors(json.load(open(path))):
        bad += 1
        where = "/" + "/".join(map(str, error.absolute_path))
        print(f"{path}: {where}: {error.message[:300]}")
sys.exit(1 if bad else 0)
