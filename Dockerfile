# WebFAQ Lake runtime image: Python 3.11, Java 17, the project and its pinned dependencies
# (constraints.txt), run as a non-root user.
#
#   docker build -t webfaq-lake .                                  # Spark on Kubernetes / local: pyspark included
#   docker build -t webfaq-lake:dataproc --build-arg SPARK_PROVIDED=1 .
#       Dataproc Serverless custom container: the service mounts Spark into the container at run
#       time and its rules say not to bundle Spark, so pyspark/py4j are left out; the user is
#       `spark` (UID/GID 1099) as the service's custom-container guide uses.
#   EMR Serverless custom images must start FROM the EMR base image: deploy/emr-serverless/Dockerfile.
FROM python:3.11.7-slim-bookworm

ARG SPARK_PROVIDED=0
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps tini \
 && rm -rf /var/lib/apt/lists/*
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PYSPARK_PYTHON=/usr/local/bin/python3

RUN groupadd -g 1099 spark && useradd -u 1099 -g 1099 -d /home/spark -m spark
WORKDIR /opt/webfaq
COPY pyproject.toml constraints.txt README.md ./
COPY lib ./lib
COPY jobs ./jobs
RUN if [ "$SPARK_PROVIDED" = "1" ]; then \
      grep -v -iE '^(pyspark|py4j)==' constraints.txt > /tmp/constraints.txt \
      && python -c "import re,tomllib; d=tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']; print('\n'.join(x for x in d if not re.match(r'(?i)pyspark', x)))" > /tmp/requirements.txt \
      && pip install --no-cache-dir -c /tmp/constraints.txt -r /tmp/requirements.txt \
      && pip install --no-cache-dir --no-deps . ; \
    else \
      pip install --no-cache-dir -c constraints.txt . ; \
    fi \
 && python -c "import webfaq.extract.pipeline, webfaq_jobs.base"
COPY sample-data ./sample-data

USER spark
ENTRYPOINT ["tini", "--"]
CMD ["webfaq", "--help"]
