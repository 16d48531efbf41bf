"""`alphalift batch`: catalogue-scale cut-outs, resumable, on one machine or a Ray cluster.

listing.py (SOURCE -> inputs) · naming.py (outputs mirroring SOURCE) · storage.py (paths and
pyarrow URIs) · manifest.py (what is done) · work.py (one image) · engine.py (the interface) ·
local.py / ray_engine.py (the engines) · job.py (the whole run) · command.py (the CLI).
"""
