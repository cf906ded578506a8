"""Datasets: real-data loaders (CK+, labelled photo folders, landmark CSVs) and generators.

Examples
--------
>>> from igselect.datasets import load_image_folder  # doctest: +SKIP
"""

from ._expression import make_expression_sequences
from ._synthetic import make_landmark_sequences
from .ckplus import CKPLUS_EMOTIONS, load_ckplus
from .image_folder import load_image_folder
from .landmark_csv import load_landmark_csv, load_openface_csv

__all__ = [
    "CKPLUS_EMOTIONS",
    "load_ckplus",
    "load_image_folder",
    "load_landmark_csv",
    "load_openface_csv",
    "make_expression_sequences",
    "make_landmark_sequences",
]
