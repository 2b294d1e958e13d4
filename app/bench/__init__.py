"""`python app.py bench`: warm, repeated measurements on scratch data, for BENCHMARKS.md.

- runner: the headline figures (one JSON object) and the plan of a quick or a full run;
- scaling: the sweeps (faces per template, template size, worker processes);
- queue: batches on real worker processes and on serve's embedded consumer;
- workspace: the temporary data dir, database and sample couple every measurement uses;
- plot and report: the PNG and the generated sections of BENCHMARKS.md, both from the JSON.

Nothing here runs at import time; matplotlib and psutil are imported where they are used.
"""
