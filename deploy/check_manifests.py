#!/usr/bin/env python3
"""Offline checks of the manifests under deploy/ (run by deploy/validate.sh).

1. Schema: every Kubernetes object in deploy/**/*.yaml is validated with kubernetes-validate in
   strict mode (unknown fields are errors) against each version in --kube-version.
   - ExecutorPlugin (plugin.yaml) is not a Kubernetes kind: its sidecar container is validated
     inside a Pod, as are the containers of the generated plugin ConfigMaps.
   - Argo kinds (argoproj.io: WorkflowTemplate, ...) have no schema in kubernetes-validate: they
     are skipped from schema validation (the equivalent of --ignore-missing-schemas) and get the
     structural checks below instead. Any other kind without a schema is an error.
   - Strategic-merge patches (*-patch.yaml) are merged onto a minimal object first.
   - kustomization.yaml: every listed resource exists and every manifest next to it is listed
     (or is a *.example.yaml); `kubectl kustomize` renders it (kubectl is required) and what it
     renders is validated too, in the kustomization's namespace or, without one, in none
     (cluster-scoped kinds such as ClusterRole have none).
2. statussync: the embedded configurations use only known keys (docs/design.md#configuration); file
   paths in the central config are mounted by the Deployment; the relay's --upstream names the
   Service in the kustomization's namespace without a cluster domain, and its tenant Secret is
   optional; terminationGracePeriodSeconds > shutdownGrace; the sidecars run as UID 8737 without
   privilege escalation, with seccomp RuntimeDefault, on a port below 10000 other than 3001;
   Secrets in deploy/ are placeholder examples only (or service-account token Secrets, which
   Kubernetes fills in); an Ingress exposes only the GitHub webhook path (pathType Exact), and
   the NetworkPolicies admit only Argo agent pods, or (the webhook's) namespaces named by label.
3. Workflow namespaces (deploy/argo/namespace): every ServiceAccount has its
   `<name>.service-account-token` Secret, the agent and executor rules are granted to it, and
   the example workflows run as it.
4. Containerfile: every top-level directory a target in Package.swift lives in is copied; base
   images come from build ARGs; OCI labels; the version label is the CLI's version.
"""

from __future__ import annotations

import argparse
import copy
import glob
import os
import re
import shutil
import subprocess
import sys

import yaml

import kubernetes_validate

DEPLOY = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(DEPLOY)

errors: list[str] = []
notes: list[str] = []


def error(where, what):
    errors.append(f"{os.path.relpath(where, ROOT) if os.path.isabs(where) else where}: {what}")


def rel(path):
    return os.path.relpath(path, ROOT)


# --------------------------------------------------------------------------- schema validation


def schema_validate(obj, where, versions, label=None):
    name = label or f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
    for version in versions:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path) or "(top level)"
            error(where, f"{name} is invalid for Kubernetes {version} at {path}: {e.message}")
            return False
        except kubernetes_validate.SchemaNotFoundError as e:
            error(where, f"{name}: {e.message}")
            return False
    return True


def pod_with(container, where, versions, label):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sidecar-check"},
           "spec": {"containers": [container]}}
    return schema_validate(pod, where, versions, label)


def deep_merge(base, patch):
    """Strategic merge for the shapes used here: maps merge, lists of named maps merge by name."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(patch, list) and all(isinstance(x, dict) and "name" in x for x in base + patch):
        out = [copy.deepcopy(x) for x in base]
        for item in patch:
            match = next((i for i, x in enumerate(out) if x["name"] == item["name"]), None)
            if match is None:
                out.append(copy.deepcopy(item))
            else:
                out[match] = deep_merge(out[match], item)
        return out
    return copy.deepcopy(patch)


PATCH_BASES = {
    "Deployment": {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
        "spec": {"selector": {"matchLabels": {"app": "x"}},
                 "template": {"metadata": {"labels": {"app": "x"}},
                              "spec": {"containers": []}}},
    },
}


# --------------------------------------------------------------------------- statussync configuration

CONFIG_KEYS = {"listen", "database", "pluginKeys", "agentTokenFile", "argoBaseURL", "providers", "tenants",
               "delivery", "retention", "shutdownGrace", "busyTimeout", "maxBodyBytes", "http", "ui"}
PROVIDER_KEYS = {"name", "kind", "baseURL", "tokenFile", "tokenEnv", "pacing", "app"}
UI_KEYS = {"listen", "tokenFile"}
TENANT_KEYS = {"name", "tokenFile", "namespaces", "repos"}
HTTP_KEYS = {"idleTimeout", "requestTimeout"}
DELIVERY_KEYS = {"maxAttempts", "maxAge", "backoffBase", "backoffCap", "timeout", "concurrency", "maxDeferral"}
IMPLEMENTED_PROVIDER_KINDS = {"github", "gitlab", "gitea", "bitbucket-cloud", "bitbucket-dc", "azure-devops"}
DURATION = re.compile(r"^[0-9]+(ms|s|m|h|d)$")
PLUGIN_BODY_KEYS = {"provider", "repo", "owner", "sha", "pr", "ref", "context", "label", "state", "status",
                    "description", "targetURL", "target_url", "comment", "key", "wait"}


def seconds(duration):
    n, unit = int(re.match(r"^[0-9]+", duration).group()), re.sub(r"^[0-9]+", "", duration)
    return n * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def check_config(text, where, label):
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as e:
        error(where, f"{label}: not valid YAML: {e}")
        return None
    if not isinstance(config, dict):
        error(where, f"{label}: must be a mapping")
        return None

    def only(mapping, allowed, path):
        for key in sorted(set(mapping) - allowed):
            error(where, f"{label}: unknown key {path}{key} (statussync refuses to start)")

    only(config, CONFIG_KEYS, "")
    for i, p in enumerate(config.get("providers") or []):
        only(p, PROVIDER_KEYS, f"providers[{i}].")
        if p.get("kind") not in IMPLEMENTED_PROVIDER_KINDS:
            error(where, f"{label}: providers[{i}].kind {p.get('kind')!r} is not a provider kind")
        if sum(k in p for k in ("tokenFile", "tokenEnv", "app")) != 1:
            error(where, f"{label}: providers[{i}] needs exactly one of tokenFile, tokenEnv and app")
    for i, t in enumerate(config.get("tenants") or []):
        only(t, TENANT_KEYS, f"tenants[{i}].")
        for key in ("name", "tokenFile", "namespaces", "repos"):
            if not t.get(key):
                error(where, f"{label}: tenants[{i}].{key} is missing or empty")
    only(config.get("delivery") or {}, DELIVERY_KEYS, "delivery.")
    only(config.get("http") or {}, HTTP_KEYS, "http.")
    ui = config.get("ui") or {}
    only(ui, UI_KEYS, "ui.")
    listen = str(ui.get("listen", ""))
    if listen and not listen.startswith(("127.", "localhost:", "[::1]:")) and not ui.get("tokenFile"):
        error(where, f"{label}: ui.listen {listen} is not loopback and ui.tokenFile is not set (statussync refuses to start)")
    for key, value in (config.get("http") or {}).items():
        if not DURATION.match(str(value)):
            error(where, f"{label}: http.{key} {value!r} is not a duration such as 60s")
    for key in ("retention", "shutdownGrace", "busyTimeout"):
        if key in config and not DURATION.match(str(config[key])):
            error(where, f"{label}: {key} {config[key]!r} is not a duration such as 10s")
    for key, value in (config.get("delivery") or {}).items():
        if key in ("maxAge", "backoffBase", "backoffCap", "timeout") and not DURATION.match(str(value)):
            error(where, f"{label}: delivery.{key} {value!r} is not a duration such as 10s")
    host = str(config.get("listen", "127.0.0.1:3001")).rsplit(":", 1)[0].strip("[]")
    loopback = host == "localhost" or host == "::1" or host.startswith("127.")
    if not loopback and not config.get("agentTokenFile") and not config.get("tenants"):
        error(where, f"{label}: listen {config.get('listen')} is not loopback, so agentTokenFile or tenants is required")
    return config


def env_value(container, name):
    for env in container.get("env") or []:
        if env.get("name") == name:
            return env
    return None


# Ports a statussync sidecar must not use: other published plugins' (gogit: 3001).
TAKEN_SIDECAR_PORTS = {3001}


def check_seccomp(sc, where, label):
    if ((sc.get("seccompProfile") or {}).get("type")) != "RuntimeDefault":
        error(where, f"{label}: securityContext.seccompProfile.type must be RuntimeDefault (Pod Security restricted)")


def check_sidecar(container, where, label, versions):
    pod_with(container, where, versions, f"{label} container")
    sc = container.get("securityContext") or {}
    check_seccomp(sc, where, label)
    first_port = (container.get("ports") or [{}])[0].get("containerPort")
    if not isinstance(first_port, int) or first_port >= 10000 or first_port in TAKEN_SIDECAR_PORTS:
        error(where, f"{label}: the sidecar port {first_port} must be below 10000 and not one another plugin "
                     f"uses ({', '.join(map(str, sorted(TAKEN_SIDECAR_PORTS)))})")
    if sc.get("runAsUser") != 8737 and sc.get("runAsGroup") != 0:
        error(where, f"{label}: runAsUser must be 8737 (or runAsGroup 0) to read /var/run/argo/token")
    if sc.get("runAsNonRoot") is not True or sc.get("allowPrivilegeEscalation") is not False:
        error(where, f"{label}: needs runAsNonRoot: true and allowPrivilegeEscalation: false")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        error(where, f"{label}: capabilities must drop ALL")
    if container.get("volumeMounts"):
        error(where, f"{label}: a plugin sidecar cannot mount volumes (the agent pod has none for it)")
    args = [str(a) for a in (container.get("command") or []) + (container.get("args") or [])]
    if "relay" in args:
        listen = args[args.index("--listen") + 1] if "--listen" in args else "127.0.0.1:3001"
        if listen.rsplit(":", 1)[1] != str(first_port):
            error(where, f"{label}: relay --listen {listen} must use the first containerPort ({first_port})")
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref is not None and ref.get("optional") is not True:
                error(where, f"{label}: the relay's Secret {ref.get('name')} must be optional: true (a missing "
                             "Secret would keep the sidecar from starting and fail other plugins' templates)")
    inline = env_value(container, "STATUSSYNC_CONFIG_YAML")
    if inline is not None:
        config = check_config(inline.get("value", ""), where, f"{label} STATUSSYNC_CONFIG_YAML")
        if config:
            if config.get("agentTokenFile") != "/var/run/argo/token":
                error(where, f"{label}: agentTokenFile should be /var/run/argo/token (the agent's token)")
            port = str(config.get("listen", "127.0.0.1:3001")).rsplit(":", 1)[1]
            first = (container.get("ports") or [{}])[0].get("containerPort")
            if str(first) != port:
                error(where, f"{label}: the first containerPort ({first}) must be the listen port ({port})")
            for p in config.get("providers") or []:
                if "tokenEnv" in p and env_value(container, p["tokenEnv"]) is None:
                    error(where, f"{label}: provider {p.get('name')} reads ${p['tokenEnv']}, which the container does not set")
    return args


def check_plugin_bodies(obj, where):
    """WorkflowTemplate/Workflow: hooks name defined templates; statussync bodies use known fields."""
    spec = obj.get("spec") or {}
    templates = {t.get("name"): t for t in spec.get("templates") or []}
    if spec.get("entrypoint") not in templates:
        error(where, f"entrypoint {spec.get('entrypoint')!r} is not a template")
    for name, hook in (spec.get("hooks") or {}).items():
        if hook.get("template") not in templates:
            error(where, f"hooks.{name}.template {hook.get('template')!r} is not a template")
        if name != "exit" and not hook.get("expression"):
            error(where, f"hooks.{name} needs an expression (only exit may omit it)")
        wanted = {p["name"] for p in ((templates.get(hook.get("template")) or {}).get("inputs") or {}).get("parameters") or []
                  if "default" not in p and "value" not in p}
        given = {p["name"] for p in ((hook.get("arguments") or {}).get("parameters") or [])}
        for missing in sorted(wanted - given):
            error(where, f"hooks.{name}: input parameter {missing} of template {hook.get('template')} is not supplied")
    for t in templates.values():
        declared = {p["name"] for p in ((t.get("inputs") or {}).get("parameters") or [])}
        for used in re.findall(r"\{\{inputs\.parameters\.([-\w]+)\}\}", yaml.safe_dump(t)):
            if used not in declared:
                error(where, f"template {t.get('name')} uses inputs.parameters.{used}, which it does not declare")
        body = (t.get("plugin") or {}).get("statussync")
        if body is not None:
            for key in sorted(set(body) - PLUGIN_BODY_KEYS):
                error(where, f"template {t.get('name')}: unknown statussync field {key}")
            for key, value in body.items():
                if not isinstance(value, str):
                    error(where, f"template {t.get('name')}: statussync.{key} must be a string (quote it)")


# --------------------------------------------------------------------------- main walk


# Kinds without a namespace: the kustomization's namespace does not apply to them.
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "Namespace", "CustomResourceDefinition"}
# The one path GitHub reaches from outside (deploy/kubernetes-checks), and its NetworkPolicy.
WEBHOOK_PATH = "/api/v1/github/webhook"
WEBHOOK_POLICY = "statussync-github-webhook"


def yaml_files():
    files = []
    for path in sorted(glob.glob(os.path.join(DEPLOY, "**", "*.y*ml"), recursive=True)):
        name = os.path.basename(path)
        if name.startswith(".") or not name.endswith((".yaml", ".yml")):
            continue  # .hadolint.yaml
        files.append(path)
    return files


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kube-version", action="append", required=True)
    args = parser.parse_args()
    versions = args.kube_version

    objects = []  # (path, doc)
    kustomizations = []
    for path in yaml_files():
        try:
            with open(path, encoding="utf-8") as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            error(path, f"not valid YAML: {e}")
            continue
        for doc in docs:
            if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
                error(path, "every document needs apiVersion and kind")
                continue
            if doc["kind"] == "Kustomization":
                kustomizations.append((path, doc))
            else:
                objects.append((path, doc))

    counted = {"validated": 0, "argo": 0}
    sidecar_args = {}
    for path, obj in objects:
        kind, api = obj["kind"], obj["apiVersion"]
        name = (obj.get("metadata") or {}).get("name")
        if kind == "ExecutorPlugin":
            container = ((obj.get("spec") or {}).get("sidecar") or {}).get("container") or {}
            sidecar_args[path] = check_sidecar(container, path, f"ExecutorPlugin/{name}", versions)
            counted["validated"] += 1
        elif api.startswith("argoproj.io/"):
            counted["argo"] += 1
            notes.append(f"{rel(path)}: {kind}/{name}: no schema in kubernetes-validate, schema check skipped; structure checked")
            check_plugin_bodies(obj, path)
        elif os.path.basename(path).endswith("-patch.yaml"):
            base = PATCH_BASES.get(kind)
            if base is None:
                error(path, f"no base object for a {kind} patch")
                continue
            merged = deep_merge(base, obj)
            for c in merged["spec"]["template"]["spec"]["containers"]:
                c.setdefault("image", "x")
            schema_validate(merged, path, versions, f"{kind}/{name} (patch merged onto a minimal {kind})")
            counted["validated"] += 1
            containers = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
            if not any((env_value(c, "ARGO_EXECUTOR_PLUGINS") or {}).get("value") == "true" for c in containers):
                error(path, "the controller patch must set ARGO_EXECUTOR_PLUGINS=\"true\"")
        else:
            schema_validate(obj, path, versions)
            counted["validated"] += 1
            labels = (obj.get("metadata") or {}).get("labels") or {}
            if kind == "ConfigMap" and labels.get("workflows.argoproj.io/configmap-type") == "ExecutorPlugin":
                try:
                    container = yaml.safe_load(obj["data"]["sidecar.container"])
                except (KeyError, yaml.YAMLError) as e:
                    error(path, f"sidecar.container: {e}")
                    continue
                pod_with(container, path, versions, f"{name} sidecar.container")
                if obj["data"].get("sidecar.automountServiceAccountToken") not in ("true", "false"):
                    error(path, "sidecar.automountServiceAccountToken must be \"true\" or \"false\"")
            if kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
                if obj.get("data") or obj.get("stringData"):
                    error(path, f"Secret {name}: a service-account token Secret is filled in by Kubernetes; give no data")
            elif kind == "Secret":
                if not path.endswith(".example.yaml"):
                    error(path, "Secrets belong only in *.example.yaml files, with placeholder values")
                for key, value in (obj.get("stringData") or {}).items():
                    if not str(value).startswith("REPLACE-"):
                        error(path, f"Secret {name} key {key}: example values must be placeholders starting with REPLACE-")
                if obj.get("data"):
                    error(path, f"Secret {name}: use stringData placeholders, not data")

    check_central(objects, kustomizations, sidecar_args, versions)
    check_containerfile()

    for note in notes:
        print(f"note: {note}")
    print(f"manifests: {counted['validated']} objects validated (strict) against Kubernetes {', '.join(versions)}; "
          f"{counted['argo']} Argo objects checked structurally")
    if errors:
        for e in errors:
            print(f"ERROR {e}", file=sys.stderr)
        return 1
    return 0


def check_central(objects, kustomizations, sidecar_args, versions):
    by_kind = {}
    for path, obj in objects:
        by_kind.setdefault(obj["kind"], []).append((path, obj))
    namespace = None  # the central service's (the kustomization next to its Deployment)
    rendered_by_dir = {}
    kubectl = shutil.which("kubectl")
    if not kubectl:
        error(DEPLOY, "kubectl is not on PATH: every kustomization must render with `kubectl kustomize`")
    for path, kz in kustomizations:
        directory = os.path.dirname(path)
        kz_namespace = kz.get("namespace")
        if any(o["kind"] == "Deployment" and os.path.dirname(p) == directory for p, o in objects):
            namespace = kz_namespace
        listed = kz.get("resources") or []
        for resource in listed:
            if not os.path.exists(os.path.join(directory, resource)):
                error(path, f"resource {resource} does not exist")
        for candidate in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
            base = os.path.basename(candidate)
            if base == "kustomization.yaml" or base.endswith(".example.yaml") or base in listed:
                continue
            error(path, f"{base} is neither listed in resources nor an *.example.yaml")
        for path2, obj in objects:
            if os.path.dirname(path2) == directory and (obj.get("metadata") or {}).get("namespace"):
                error(path2, "manifests stay namespace-agnostic; the namespace is set in kustomization.yaml")
        if kubectl:
            run = subprocess.run([kubectl, "kustomize", directory], capture_output=True, text=True, timeout=60)
            if run.returncode != 0:
                error(path, f"kubectl kustomize failed: {run.stderr.strip()}")
            else:
                rendered = [d for d in yaml.safe_load_all(run.stdout) if d]
                rendered_by_dir[directory] = rendered
                for obj in rendered:
                    schema_validate(obj, path, versions, f"rendered {obj['kind']}/{obj['metadata']['name']}")
                    if obj["kind"] not in CLUSTER_SCOPED and obj["metadata"].get("namespace") != kz_namespace:
                        error(path, f"rendered {obj['kind']}/{obj['metadata']['name']} is in namespace "
                                    f"{obj['metadata'].get('namespace')}, expected {kz_namespace or 'none (set with kubectl -n)'}")
                notes.append(f"{rel(path)}: kubectl kustomize rendered {len(rendered)} objects, validated")
    check_workflow_namespace(rendered_by_dir.get(os.path.join(DEPLOY, "argo", "namespace")), objects)

    deployments = [(p, o) for p, o in by_kind.get("Deployment", []) if o["metadata"]["name"] == "statussync"]
    configmaps = {o["metadata"]["name"]: (p, o) for p, o in by_kind.get("ConfigMap", [])}
    if len(deployments) != 1:
        error(DEPLOY, "expected exactly one Deployment statussync")
        return
    dpath, deploy = deployments[0]
    spec = deploy["spec"]
    if spec.get("replicas") != 1 or (spec.get("strategy") or {}).get("type") != "Recreate":
        error(dpath, "the central service must have replicas: 1 and strategy Recreate (one SQLite owner)")
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    check_seccomp(pod.get("securityContext") or {}, dpath, "Deployment statussync pod")
    check_seccomp(container.get("securityContext") or {}, dpath, "Deployment statussync container")
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts") or []}
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    cargs = container.get("args") or []
    config_path = cargs[cargs.index("--config") + 1] if "--config" in cargs else None
    if config_path is None or config_path not in mounts:
        error(dpath, f"serve --config {config_path} is not a mounted file")
        return
    volume = volumes.get(mounts[config_path]["name"]) or {}
    cm_name = (volume.get("configMap") or {}).get("name")
    key = mounts[config_path].get("subPath")
    if cm_name not in configmaps or key not in (configmaps[cm_name][1].get("data") or {}):
        error(dpath, f"--config {config_path} does not come from a ConfigMap key in deploy/")
        return
    cpath, cm = configmaps[cm_name]
    config = check_config(cm["data"][key], cpath, f"{cm_name} {key}")
    if not config:
        return
    if (env_value(container, "STATUSSYNC_CONFIG") or {}).get("value") != config_path:
        error(dpath, "set STATUSSYNC_CONFIG to the config path so `kubectl exec ... statussync history` finds the database")

    def mounted_dir(file_path, what, want):
        parent = os.path.dirname(file_path)
        m = mounts.get(parent)
        if m is None:
            error(dpath, f"{what} {file_path}: its directory {parent} is not a volume mount")
            return
        v = volumes.get(m["name"]) or {}
        if want not in v:
            error(dpath, f"{what} {file_path}: {parent} is mounted from {list(v)}, expected a {want}")

    mounted_dir(config["database"], "database", "persistentVolumeClaim")
    for p in config.get("providers") or []:
        if "tokenFile" in p:
            mounted_dir(p["tokenFile"], f"provider {p['name']} tokenFile", "secret")
    for t in config.get("tenants") or []:
        mounted_dir(t["tokenFile"], f"tenant {t['name']} tokenFile", "secret")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if seconds(str(config.get("shutdownGrace", "10s"))) >= grace:
        error(dpath, f"terminationGracePeriodSeconds {grace} must exceed shutdownGrace {config.get('shutdownGrace')}")
    port = str(config.get("listen")).rsplit(":", 1)[1]
    if str((container.get("ports") or [{}])[0].get("containerPort")) != port:
        error(dpath, f"containerPort must be the listen port {port}")
    probes = {k: ((container.get(k) or {}).get("httpGet") or {}).get("path") for k in ("readinessProbe", "livenessProbe")}
    if probes != {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}:
        error(dpath, f"probes should be readiness /readyz and liveness /healthz, not {probes}")

    services = [o for p, o in by_kind.get("Service", []) if o["metadata"]["name"] == "statussync"]
    if services and namespace:
        svc_port = services[0]["spec"]["ports"][0]["port"]
        # No cluster domain: the pod's DNS search path completes `.svc`, whatever the domain is.
        expected = f"http://statussync.{namespace}.svc:{svc_port}"
        for path, args in sidecar_args.items():
            if "relay" in args:
                upstream = args[args.index("--upstream") + 1] if "--upstream" in args else None
                if upstream != expected:
                    error(path, f"relay --upstream {upstream} should be {expected} (the Service in kustomization's namespace)")
    for path, netpol in by_kind.get("NetworkPolicy", []):
        peers = [peer for rule in netpol["spec"].get("ingress") or [] for peer in rule.get("from") or []]
        ports = [p.get("port") for rule in netpol["spec"].get("ingress") or [] for p in rule.get("ports") or []]
        if netpol["metadata"]["name"] == WEBHOOK_POLICY:
            # The ingress controller's namespace, for the one path the webhook Ingress exposes.
            named = all((peer.get("namespaceSelector") or {}).get("matchLabels") for peer in peers)
            if not peers or not named or ports != [int(port)]:
                error(path, f"the webhook policy must admit only namespaces named by label (the ingress controller's) on port {port}")
            continue
        agent = all((peer.get("podSelector") or {}).get("matchLabels", {}).get("workflows.argoproj.io/component") == "agent"
                    and "namespaceSelector" in peer for peer in peers)
        if not peers or not agent or ports != [int(port)]:
            error(path, f"ingress must admit only Argo agent pods (any namespace) on port {port}")
    for path, ingress in by_kind.get("Ingress", []):
        paths = [p for rule in ingress["spec"].get("rules") or [] for p in (rule.get("http") or {}).get("paths") or []]
        if not paths or any(p.get("path") != WEBHOOK_PATH or p.get("pathType") != "Exact" for p in paths):
            error(path, f"an Ingress may expose only {WEBHOOK_PATH} (pathType Exact): the plugin endpoint stays inside the cluster")


AGENT_RULES = {("workflowtasksets", "list"), ("workflowtasksets", "watch"), ("workflowtasksets/status", "patch")}
EXECUTOR_RULES = {("workflowtaskresults", "create"), ("workflowtaskresults", "patch")}


def check_workflow_namespace(rendered, objects):
    """deploy/argo/namespace: what an agent pod and the workflow's steps need in their namespace."""
    where = os.path.join(DEPLOY, "argo", "namespace", "kustomization.yaml")
    if rendered is None:
        error(where, "deploy/argo/namespace did not render (or is missing)")
        return
    accounts = [o["metadata"]["name"] for o in rendered if o["kind"] == "ServiceAccount"]
    if not accounts:
        error(where, "no ServiceAccount for the workflows")
    secrets = {o["metadata"]["name"]: o for o in rendered if o["kind"] == "Secret"}
    roles = {o["metadata"]["name"]: o for o in rendered if o["kind"] == "Role"}
    for sa in accounts:
        secret = secrets.get(f"{sa}.service-account-token")
        if secret is None:
            error(where, f"no Secret {sa}.service-account-token: every agent pod mounts it, and Kubernetes "
                         ">= 1.24 does not create it (the agent pod would stay in ContainerCreating)")
        else:
            if secret.get("type") != "kubernetes.io/service-account-token":
                error(where, f"Secret {sa}.service-account-token must have type kubernetes.io/service-account-token")
            if (secret["metadata"].get("annotations") or {}).get("kubernetes.io/service-account.name") != sa:
                error(where, f"Secret {sa}.service-account-token needs annotation kubernetes.io/service-account.name: {sa}")
        granted = set()
        for binding in (o for o in rendered if o["kind"] == "RoleBinding"):
            if not any(s.get("kind") == "ServiceAccount" and s.get("name") == sa and s.get("namespace") in (None, binding["metadata"].get("namespace"))
                       for s in binding.get("subjects") or []):
                continue
            role = roles.get(binding["roleRef"]["name"]) if binding["roleRef"]["kind"] == "Role" else None
            if role is None:
                error(where, f"RoleBinding {binding['metadata']['name']} refers to a Role not rendered here")
                continue
            for rule in role.get("rules") or []:
                if "argoproj.io" in (rule.get("apiGroups") or []):
                    granted |= {(r, v) for r in rule.get("resources") or [] for v in rule.get("verbs") or []}
        for what, needed in (("agent", AGENT_RULES), ("executor", EXECUTOR_RULES)):
            for resource, verb in sorted(needed - granted):
                error(where, f"ServiceAccount {sa} lacks the {what} permission {verb} on {resource}")
    for path, obj in objects:
        if obj.get("apiVersion", "").startswith("argoproj.io/") and obj["kind"] in ("WorkflowTemplate", "Workflow", "CronWorkflow"):
            spec = obj.get("spec") or {}
            spec = (spec.get("workflowSpec") or spec) if obj["kind"] == "CronWorkflow" else spec
            if spec.get("serviceAccountName") not in accounts:
                error(path, f"spec.serviceAccountName {spec.get('serviceAccountName')!r} should be one of deploy/argo/namespace's "
                            f"ServiceAccounts ({', '.join(accounts)})")


def check_containerfile():
    containerfile = os.path.join(DEPLOY, "Containerfile")
    manifest = os.path.join(ROOT, "Package.swift")
    try:
        with open(containerfile, encoding="utf-8") as f:
            text = f.read()
        with open(manifest, encoding="utf-8") as f:
            package = f.read()
    except OSError as e:
        error(containerfile, str(e))
        return
    copied = set()
    for line in text.splitlines():
        m = re.match(r"^COPY\s+(?!--from)(.*)$", line.strip())
        if m:
            for src in m.group(1).split()[:-1]:
                if not src.startswith("--"):
                    copied.add(src.rstrip("/"))
    needed = {"Sources", "Plugins", "Tests", "migrations"} | set(re.findall(r'path:\s*"([^"]+)"', package))
    for path in sorted(needed):
        if not os.path.exists(os.path.join(ROOT, path)):
            continue
        if not any(path == c or path.startswith(c + "/") for c in copied):
            error(containerfile, f"{path} (used by Package.swift) is not copied into the build stage")
    if 'ENTRYPOINT ["statussync"]' not in text or "USER 8737" not in text:
        error(containerfile, "expected ENTRYPOINT [\"statussync\"] and USER 8737")

    # Base images from build ARGs (so a release can pin them by digest).
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    if not froms or not all(re.fullmatch(r"\$\{[A-Z_]+_IMAGE\}", f) for f in froms):
        error(containerfile, f"every FROM must name its base image through an ARG (e.g. FROM ${{SWIFT_IMAGE}}), not {froms}")
    # The version: written once, in StatusSyncVersion.current; the Containerfile's default and the
    # image tags in deploy/ must agree with it.
    version_file = os.path.join(ROOT, "Sources", "StatusSyncCLI", "StatusSyncCommand.swift")
    try:
        with open(version_file, encoding="utf-8") as f:
            m = re.search(r'static let current = "([^"]+)"', f.read())
    except OSError:
        m = None
    if m is None:
        error(version_file, "StatusSyncVersion.current not found")
        return
    version = m.group(1)
    for default in re.findall(r"^ARG VERSION=(\S*)", text, re.M) or ["(none)"]:
        if default != version:
            error(containerfile, f"ARG VERSION={default} differs from StatusSyncVersion.current {version}")
    for label in ("version", "revision", "created", "source"):
        if f"org.opencontainers.image.{label}=" not in text:
            error(containerfile, f"missing OCI label org.opencontainers.image.{label}")
    for path in glob.glob(os.path.join(DEPLOY, "**", "*.yaml"), recursive=True) + [os.path.join(ROOT, "docs", "deployment.md")]:
        with open(path, encoding="utf-8") as f:
            for tag in re.findall(r"ghcr\.io/statussync/statussync:([\w.-]+)", f.read()):
                if tag != version:
                    error(path, f"image tag {tag} differs from StatusSyncVersion.current {version}")
    dockerignore = os.path.join(ROOT, ".dockerignore")
    try:
        with open(dockerignore, encoding="utf-8") as f:
            ignored = set(f.read().split())
    except OSError:
        ignored = set()
    for pattern in (".build*", "dist", "*.sqlite*", "Package.resolved"):
        if pattern not in ignored and not (pattern == "*.sqlite*" and {"*.sqlite", "*.sqlite-*"} <= ignored):
            error(dockerignore, f"must exclude {pattern} from the build context")


if __name__ == "__main__":
    sys.exit(main())
