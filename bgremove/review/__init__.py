"""The review page: `bgremove review OUT_DIR` writes one self-contained HTML page of a run's
results, the failed images first with their reasons, then the flagged ones, worst first, then
(on request) the rest, each as original | cutout on a checkerboard | mask thumbnails.

Holds collect.py (what to show, from the manifest or a report, and in which order), thumbs.py
(small images as data: URIs) and page.py (the HTML).

May import: bgremove.batch (the manifest, the report's records, the mask cache's paths),
bgremove.imaging, bgremove.errors. Never the inference core or a model: a review runs no network.
"""
