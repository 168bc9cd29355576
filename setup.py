"""Build shim: metadata is in pyproject.toml; this only ships templates/ as courtsync.templates."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["courtsync", "courtsync.*"])
    + ["courtsync.templates", "courtsync.templates.example"],
    package_dir={"courtsync.templates": "templates", "courtsync.templates.example": "templates/example"},
    package_data={"courtsync.templates": ["*.j2", "*.css"], "courtsync.templates.example": ["*.j2", "*.csv"]},
)
