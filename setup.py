"""Build shim: metadata is in pyproject.toml; this only ships templates/ as courtsync.templates."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["courtsync", "courtsync.*"]) + ["courtsync.templates"],
    package_dir={"courtsync.templates": "templates"},
    package_data={"courtsync.templates": ["*.j2", "example/*", "example/feeds/*"]},
)
