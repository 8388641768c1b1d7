#!/usr/bin/env python3
"""Regenerate the executor-plugin ConfigMaps exactly as `argo executor-plugin build DIR` writes them.

    python3 deploy/argo/generate.py            # (re)write every DIR/<name>-executor-plugin-configmap.yaml
    python3 deploy/argo/generate.py --check    # write nothing; show a diff and exit 1 if a file is stale
    python3 deploy/argo/generate.py DIR...     # only these plugin directories

A plugin directory is any directory under deploy/argo/ that holds a `plugin.yaml`
(kind ExecutorPlugin). Like the real command (argo-workflows `cmd/argo/commands/executorplugin`
build.go + io.go, `workflow/util/plugin/configmap.go` ToConfigMap), this writes two files:

- `<metadata.name>-executor-plugin-configmap.yaml`: the header line
  `# This is an auto-generated file. DO NOT EDIT`, then `sigs.k8s.io/yaml.Marshal` of a v1
  ConfigMap named `<name>-executor-plugin` with label
  `workflows.argoproj.io/configmap-type: <kind>`, the plugin's labels and annotations, and data
  `sidecar.automountServiceAccountToken` ("true"/"false") and `sidecar.container` (the container
  marshalled the same way).
- `README.md`: the build's fixed README template.

sigs.k8s.io/yaml marshals through JSON and go-yaml v2, so mapping keys come out in go-yaml's
"natural" key order, strings that would read back as another type are double-quoted, strings
with line breaks are literal blocks, and `creationTimestamp: null` is written. This script
reproduces that for the subset of YAML the deploy files use and refuses anything it could not
reproduce faithfully (empty values Go would drop, non-canonical quantities, ...), so that
running the real `argo executor-plugin build` on a directory leaves its files unchanged.

Needs only python3 and PyYAML.
"""

from __future__ import annotations

import argparse
import difflib
import glob
import os
import re
import sys
import unicodedata

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = "# This is an auto-generated file. DO NOT EDIT\n"
CONFIGMAP_TYPE_LABEL = "workflows.argoproj.io/configmap-type"

# io.go saveReadme, byte for byte (note the tab-only line and the trailing space).
README_TEMPLATE = (
    "<!-- This is an auto-generated file. DO NOT EDIT -->\n"
    "# {name}\n"
    "\n"
    "* Needs: {version}\n"
    "* Image: {image}\n"
    "\n"
    "{description}\n"
    "\n"
    "Install:\n"
    "\n"
    "    kubectl apply -f {name}-executor-plugin-configmap.yaml\n"
    "\n"
    "Uninstall:\n"
    "\t\n"
    "    kubectl delete cm {name}-executor-plugin \n"
)


class PluginError(Exception):
    pass


# --------------------------------------------------------------------------- strict loading


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys, as sigs.k8s.io/yaml.UnmarshalStrict does."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise PluginError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _only(mapping, allowed, where):
    if not isinstance(mapping, dict):
        raise PluginError(f"{where} must be a mapping")
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise PluginError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed here: {', '.join(allowed)}")


def load_plugin(plugin_dir):
    path = os.path.join(plugin_dir, "plugin.yaml")
    with open(path, encoding="utf-8") as f:
        plugin = yaml.load(f, Loader=_StrictLoader)
    _only(plugin, ["apiVersion", "kind", "metadata", "spec"], "plugin.yaml")
    # ObjectMeta has more fields, but ToConfigMap carries only these four into the ConfigMap.
    _only(plugin.get("metadata"), ["name", "namespace", "labels", "annotations"], "metadata")
    _only(plugin.get("spec"), ["sidecar"], "spec")
    _only(plugin["spec"].get("sidecar"), ["automountServiceAccountToken", "container"], "spec.sidecar")
    if plugin.get("kind") != "ExecutorPlugin":
        raise PluginError("kind must be ExecutorPlugin (it becomes the ConfigMap's configmap-type label)")
    name = plugin["metadata"].get("name")
    if not isinstance(name, str) or not name:
        raise PluginError("metadata.name is required")
    for field in ("labels", "annotations"):
        values = plugin["metadata"].get(field) or {}
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
            raise PluginError(f"metadata.{field}: keys and values must be strings (quote them)")
    automount = plugin["spec"]["sidecar"].get("automountServiceAccountToken", False)
    if not isinstance(automount, bool):
        raise PluginError("spec.sidecar.automountServiceAccountToken must be true or false")

    container = plugin["spec"]["sidecar"].get("container")
    if not isinstance(container, dict):
        raise PluginError("spec.sidecar.container must be a Kubernetes Container")
    # io.go: exactly one DIR/server.* replaces the container's args with its text.
    servers = sorted(glob.glob(os.path.join(plugin_dir, "server.*")))
    if len(servers) > 1:
        raise PluginError(f"plugin {name} has more than one server.* file")
    if servers:
        with open(servers[0], encoding="utf-8") as f:
            container["args"] = [f.read()]
    # spec.Sidecar.Validate
    if not container.get("ports"):
        raise PluginError("sidecar is invalid: at least one port is mandatory")
    resources = container.get("resources") or {}
    if resources.get("requests") is None:
        raise PluginError("sidecar is invalid: resources requests are mandatory")
    if resources.get("limits") is None:
        raise PluginError("sidecar is invalid: resources limits are mandatory")
    if container.get("securityContext") is None:
        raise PluginError("sidecar is invalid: security context is mandatory")
    return plugin


# --------------------------------------------------------------------------- Go marshalling rules

_QUANTITY = re.compile(r"^(0|[1-9][0-9]*)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_NEXT_UNIT = {"m": ("", 1000), "": ("k", 1000), "k": ("M", 1000), "M": ("G", 1000), "G": ("T", 1000),
              "T": ("P", 1000), "P": ("E", 1000), "Ki": ("Mi", 1024), "Mi": ("Gi", 1024),
              "Gi": ("Ti", 1024), "Ti": ("Pi", 1024), "Pi": ("Ei", 1024)}


def _canonical_quantity(value, where):
    """resource.Quantity marshals to its canonical string; accept only values already canonical."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str):
        raise PluginError(f"{where}: write the quantity as a string such as 250m or 64Mi, not {value!r}")
    m = _QUANTITY.match(text)
    number, unit = (int(m.group(1)), m.group(2) or "") if m else (None, None)
    if m is None or (number != 0 and unit in _NEXT_UNIT and number % _NEXT_UNIT[unit][1] == 0):
        raise PluginError(f"{where}: {value!r} is not in the canonical form Kubernetes prints "
                          "(e.g. 500m not 0.5, 1 not 1000m, 1Gi not 1024Mi)")
    return text


def normalise(value, path=""):
    """Check that a value survives Go's JSON round trip unchanged, and canonicalise quantities."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise PluginError(f"{path or 'container'}: key {k!r} must be a string")
            where = f"{path}.{k}" if path else k
            if v is None or v == {} or v == [] or v == "" or v is False and k in _OMITEMPTY_BOOLS:
                raise PluginError(f"{where}: empty value; Go would drop or rewrite it, remove it")
            if path.endswith("resources.limits") or path.endswith("resources.requests"):
                out[k] = _canonical_quantity(v, where)
            else:
                out[k] = normalise(v, where)
        return out
    if isinstance(value, list):
        return [normalise(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float):
        raise PluginError(f"{path}: floats do not round-trip through Go's JSON; use an integer or a string")
    if isinstance(value, (bool, int, str)):
        return value
    raise PluginError(f"{path}: unsupported value {value!r} (dates and binary are not Container fields)")


# Non-pointer bools with omitempty in core/v1 Container: false is dropped by Go.
_OMITEMPTY_BOOLS = {"stdin", "stdinOnce", "tty"}


def _go_yaml_v2_less(a, b):
    """go-yaml v2 keyList.Less for string keys: letters after non-letters, digit runs numerically."""
    ar, br = list(a), list(b)
    for i in range(min(len(ar), len(br))):
        if ar[i] == br[i]:
            continue
        al, bl = ar[i].isalpha(), br[i].isalpha()
        if al and bl:
            return ar[i] < br[i]
        if al or bl:
            return bl
        an = bn = 0
        if ar[i] == "0" or br[i] == "0":
            j = i - 1
            while j >= 0 and ar[j].isdigit():
                if ar[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(ar) and ar[ai].isdigit():
            an = an * 10 + int(ar[ai])
            ai += 1
        bi = i
        while bi < len(br) and br[bi].isdigit():
            bn = bn * 10 + int(br[bi])
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ar[i] < br[i]
    return len(ar) < len(br)


def _sorted_keys(keys):
    import functools

    def cmp(x, y):
        if _go_yaml_v2_less(x, y):
            return -1
        if _go_yaml_v2_less(y, x):
            return 1
        return 0

    return sorted(keys, key=functools.cmp_to_key(cmp))


def go_order(value):
    if isinstance(value, dict):
        return {k: go_order(value[k]) for k in _sorted_keys(value)}
    if isinstance(value, list):
        return [go_order(v) for v in value]
    return value


# go-yaml v2 resolves these as booleans too (YAML 1.1); PyYAML's resolver does not.
_GO_EXTRA_BOOLS = {"y", "Y", "n", "N"}
_RESOLVER = yaml.resolver.Resolver()


class _GoYAMLDumper(yaml.SafeDumper):
    pass


def _represent_str(dumper, value):
    # go-yaml v2 encoder.stringv: line breaks -> literal; would resolve to a non-string when
    # plain -> double-quoted; else plain (the emitter falls back to single quotes where plain is
    # not allowed, exactly like PyYAML's emitter, both being ports of libyaml).
    if "\n" in value:
        style = "|"
    elif (value in _GO_EXTRA_BOOLS
          or _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) != "tag:yaml.org,2002:str"):
        style = '"'
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_GoYAMLDumper.add_representer(str, _represent_str)


def go_yaml_marshal(value):
    _check_no_wrap(value)
    return yaml.dump(go_order(value), Dumper=_GoYAMLDumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True, width=80, indent=2)


def _check_no_wrap(value, path=""):
    """go-yaml and PyYAML fold long single-line scalars at spaces slightly differently: refuse them."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_no_wrap(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_no_wrap(v, f"{path}[{i}]")
    elif isinstance(value, str):
        if "\n" not in value and " " in value and len(value) > 60:
            raise PluginError(f"{path}: single-line string longer than 60 characters with spaces; "
                              "go-yaml would fold it: shorten it or split it into list items")
        if any(unicodedata.category(c) in ("Cc", "Cf") and c not in "\n" for c in value):
            raise PluginError(f"{path}: control characters are not supported")
        if "\n" in value and any(line != line.rstrip() for line in value.split("\n")):
            raise PluginError(f"{path}: trailing whitespace in a multi-line string (it would not stay a literal block)")


# --------------------------------------------------------------------------- build


def build(plugin_dir):
    """Returns {filename: text} as `argo executor-plugin build plugin_dir` would write them."""
    plugin = load_plugin(plugin_dir)
    meta = plugin["metadata"]
    name = meta["name"]
    container = normalise(plugin["spec"]["sidecar"]["container"], "spec.sidecar.container")
    container.setdefault("name", "")  # Container.Name has no omitempty
    container_yaml = go_yaml_marshal(container)

    cm_meta = {"creationTimestamp": None, "name": f"{name}-executor-plugin"}
    annotations = dict(meta.get("annotations") or {})
    if annotations:
        cm_meta["annotations"] = annotations
    labels = {CONFIGMAP_TYPE_LABEL: plugin["kind"]}
    labels.update(meta.get("labels") or {})
    cm_meta["labels"] = labels
    if meta.get("namespace"):
        cm_meta["namespace"] = meta["namespace"]
    automount = plugin["spec"]["sidecar"].get("automountServiceAccountToken", False)
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": cm_meta,
        "data": {
            "sidecar.automountServiceAccountToken": "true" if automount else "false",
            "sidecar.container": container_yaml,
        },
    }
    _check_no_wrap({k: v for k, v in configmap.items() if k != "data"})
    configmap_text = HEADER + go_yaml_marshal(configmap)

    readme_text = README_TEMPLATE.format(
        name=name,
        version=annotations.get("workflows.argoproj.io/version", ""),
        image=container.get("image", ""),
        description=annotations.get("workflows.argoproj.io/description", ""),
    )
    return {f"{name}-executor-plugin-configmap.yaml": configmap_text, "README.md": readme_text}


def plugin_dirs(root):
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if "plugin.yaml" in filenames:
            found.append(dirpath)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; print a diff and exit 1 when a generated file differs")
    parser.add_argument("dirs", nargs="*", help="plugin directories (default: every one under deploy/argo)")
    args = parser.parse_args(argv)

    dirs = args.dirs or plugin_dirs(HERE)
    if not dirs:
        print("generate.py: no plugin.yaml found", file=sys.stderr)
        return 1
    stale = 0
    for plugin_dir in dirs:
        try:
            outputs = build(plugin_dir)
        except (PluginError, yaml.YAMLError, OSError) as e:
            print(f"generate.py: {os.path.join(plugin_dir, 'plugin.yaml')}: {e}", file=sys.stderr)
            return 1
        for filename, text in outputs.items():
            path = os.path.join(plugin_dir, filename)
            try:
                with open(path, encoding="utf-8") as f:
                    current = f.read()
            except FileNotFoundError:
                current = None
            if current == text:
                print(f"{path}: up to date")
                continue
            if args.check:
                stale += 1
                print(f"{path}: differs from what generate.py produces from plugin.yaml", file=sys.stderr)
                sys.stderr.writelines(difflib.unified_diff(
                    (current or "").splitlines(keepends=True), text.splitlines(keepends=True),
                    fromfile=f"{path} (committed)", tofile=f"{path} (generated)"))
            else:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
                print(f"{path}: written")
    if stale:
        print(f"generate.py: {stale} file(s) stale; run python3 deploy/argo/generate.py and commit the result",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
