#!/usr/bin/env bash
# Regenerate devstack/jars.lock.json with Maven (maintainers only: `rasid devstack up` needs just Java).
# Resolves the Kafka classpath and the Elasticsearch distribution from Maven Central only (see
# maven/settings.xml), then records exact coordinates, URLs and SHA-256 of every file.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="${RASID_LOCK_M2:-$(mktemp -d)}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for stack in kafka elasticsearch; do
  mvn -q -B -s "$here/maven/settings.xml" -Dmaven.repo.local="$repo" -f "$here/maven/$stack/pom.xml" \
    dependency:list -DincludeScope=runtime -DoutputAbsoluteArtifactFilename=true \
    -DoutputFile="$out/$stack.txt"
done
python3 "$here/regen_lock.py" --m2 "$repo" --kafka "$out/kafka.txt" --elasticsearch "$out/elasticsearch.txt" \
  --out "$here/jars.lock.json"
echo "wrote $here/jars.lock.json"
