"""Package discovery, the one thing pyproject.toml cannot say alone: every package under lib/ is
found automatically (so no stage is ever left out of the wheel), and ``webfaq_jobs`` comes from
jobs/. Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=find_packages("lib") + ["webfaq_jobs"],
    package_dir={"": "lib", "webfaq_jobs": "jobs"},
)
