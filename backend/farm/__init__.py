"""A studio farm: one front door (`ltx-scene serve --broker`), Celery workers on the GPU boxes
(`ltx-scene worker`), Redis between them. README.md in this folder has the design.

Nothing here is imported on one machine: `serve` without `--broker` never touches this package,
and celery / redis are imported only inside the modules that talk to them.
"""
