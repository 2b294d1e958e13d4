"""`python app.py bench quality`: the stress set, per-face quality measures, the contact sheet and the report."""
