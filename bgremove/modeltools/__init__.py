"""Making and measuring weights files: ONNX export, int8 quantisation, and evaluation on labelled
folders with its metrics (shared with train/).

May import: bgremove.inference, bgremove.imaging, bgremove.model, bgremove.errors. Never the batch
engine or the CLI.
"""
