# WebFAQ Lake runtime image: Python 3.11, Java 17, the project and its pinned dependencies,
# run as a non-root user. Usable for Spark on Kubernetes and as an EMR Serverless custom image
# (build FROM the EMR base image there; see deploy/README.md).
FROM python:3.11.7-slim-bookworm

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps tini \
 && rm -rf /var/lib/apt/lists/*
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PYSPARK_PYTHON=/usr/local/bin/python3

RUN useradd --create-home --uid 1000 webfaq
WORKDIR /opt/webfaq
COPY pyproject.toml constraints.txt README.md ./
COPY lib ./lib
COPY jobs ./jobs
RUN pip install --no-cache-dir -c constraints.txt . && python -c "import webfaq.pipeline, webfaq_jobs.extract"
COPY sample-data ./sample-data

USER webfaq
ENTRYPOINT ["tini", "--"]
CMD ["webfaq", "--help"]
