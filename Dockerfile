# WebFAQ Lake runtime image: Python 3.11, Java 17, the project and its pinned dependencies
# (constraints.txt), run as a non-root user.
#
#   docker build -t webfaq-lake .                                  # Spark on Kubernetes / local: pyspark included
#   docker build -t webfaq-lake:dataproc --build-arg SPARK_PROVIDED=1 .
#       Dataproc Serverless custom container: the service mounts Spark into the container at run
#       time and its rules say not to bundle Spark, so pyspark/py4j are left out; the user is
#       `spark` (UID/GID 1099) as the service's custom-container guide uses.
#   EMR Serverless custom images must start FROM the EMR base image: deploy/emr-serverless/Dockerfile.
# The wheel, built once from the sources: the runtime stage installs it exactly as the EMR bootstrap
# and the Dataproc init action install `make dist`'s wheel (dependencies from constraints.txt,
# then the wheel with --no-deps), so the image runs what the clusters run, with no source tree.
FROM python:3.11.7-slim-bookworm AS wheel
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY lib ./lib
COPY jobs ./jobs
RUN pip wheel --no-cache-dir --no-deps -w /dist .

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
COPY pyproject.toml constraints.txt /tmp/build/
COPY --from=wheel /dist /tmp/build/dist
RUN cd /tmp/build \
 && if [ "$SPARK_PROVIDED" = "1" ]; then \
      grep -v -iE '^(pyspark|py4j)==' constraints.txt > constraints-image.txt \
      && python -c "import re,tomllib; d=tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']; print('\n'.join(x for x in d if not re.match(r'(?i)pyspark', x)))" > requirements.txt ; \
    else \
      cp constraints.txt constraints-image.txt \
      && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" > requirements.txt ; \
    fi \
 && pip install --no-cache-dir -c constraints-image.txt -r requirements.txt \
 && pip install --no-cache-dir --no-deps dist/webfaq_lake-*.whl \
 && cd / && rm -rf /tmp/build \
 && python -c "import webfaq.extract.schemaorg, webfaq_jobs.refresh"
COPY sample-data ./sample-data

USER spark
ENTRYPOINT ["tini", "--"]
CMD ["webfaq", "--help"]
