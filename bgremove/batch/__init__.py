"""The batch engine: `bgremove run` over a folder (or a bucket), resumable and bounded.

Holds the driver (driver.run), its options, discovery and output naming, the manifest, the lock, the
report, stopping, and the backends that spread images over local processes, a GPU or a Ray cluster
(local, gpu, ray_*), each running worker.process_image per image.

May import: bgremove.inference, bgremove.imaging, bgremove.errors. Never modeltools or model (torch).
"""
