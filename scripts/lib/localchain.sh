# Shared by scripts/devnet and scripts/bench (sourced, not run): a local L1 (anvil) with the
# root contract deployed and a plasma-operator running against it. Every process started is
# recorded in `pids` and stopped by `localchain_stop`.
#
# Needs: $root (the repository), `say` and `die` defined by the caller.

pids=()

localchain_stop() {
  trap - INT TERM EXIT
  if ((${#pids[@]})); then
    say "stopping"
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap 'localchain_stop; exit 0' INT TERM
trap localchain_stop EXIT

# cargo's target folder (respects CARGO_TARGET_DIR and config).
cargo_target_dir() {
  cargo metadata --format-version 1 --no-deps |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))'
}

# Whether GET $1 answers 2xx (node's fetch: no curl needed).
http_ok() { node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$1"; }

# Fails when something already listens on one of the given local ports.
localchain_ports_free() {
  local port
  for port in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "port $port is in use (another devnet?); stop it or choose other ports"
    fi
  done
}

# localchain_anvil PORT DIR: starts anvil; sets $l1, $chain_id, $anvil_pid and the function
# `dev_key N` (anvil's development key N, as anvil wrote it to DIR/anvil.json: public test
# keys, never for real money).
localchain_anvil() {
  local port=$1 dir=$2
  anvil=$(ls "$root"/node_modules/@foundry-rs/anvil-*/bin/anvil | head -n 1)
  cast=$(ls "$root"/node_modules/@foundry-rs/cast-*/bin/cast | head -n 1)
  l1="http://127.0.0.1:$port"
  say "starting anvil on $l1 (log: $dir/anvil.log)"
  "$anvil" --port "$port" --silent --config-out "$dir/anvil.json" >"$dir/anvil.log" 2>&1 &
  anvil_pid=$!
  pids+=("$anvil_pid")
  for _ in $(seq 100); do
    "$cast" chain-id --rpc-url "$l1" >/dev/null 2>&1 && break
    sleep 0.1
  done
  chain_id=$("$cast" chain-id --rpc-url "$l1") || die "anvil did not start (see $dir/anvil.log)"
  anvil_config=$dir/anvil.json
}
dev_key() { node -e 'console.log(require(process.argv[1]).private_keys[process.argv[2]])' "$anvil_config" "$1"; }

# localchain_deploy OPERATOR_KEY EXIT_PERIOD: deploys the root contract from the committed
# artifact (exit bond 0.01 ETH, least deposit 1 gwei, in-flight exit bond 0.02 ETH, piggyback bond
# 0.015 ETH); sets $root_chain.
localchain_deploy() {
  local key=$1 exit_period=$2 bytecode args operator_address
  say "deploying the root contract (exit period ${exit_period}s, exit bond 0.01 ETH)"
  bytecode=$(node -e 'console.log(require(process.argv[1]).bytecode.object)' "$root/plasma-contracts/artifacts/RootChain.json")
  operator_address=$("$cast" wallet address "$key")
  args=$("$cast" abi-encode "constructor(address,uint256,uint256,uint256,uint256,uint256)" \
    "$operator_address" "$exit_period" 10000000000000000 1000000000 20000000000000000 15000000000000000)
  root_chain=$("$cast" send --json --rpc-url "$l1" --private-key "$key" \
    --create "$bytecode${args#0x}" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).contractAddress))')
  [ -n "$root_chain" ] && [ "$root_chain" != "null" ] || die "deployment failed"
}

# localchain_operator BIN KEY DIR PORT [EXTRA ARGS…]: starts the operator (database DIR/operator-db,
# log DIR/operator.log) and waits for its API; sets $api and $operator_pid.
localchain_operator() {
  local bin=$1 key=$2 dir=$3 port=$4
  shift 4
  api="http://127.0.0.1:$port"
  say "starting the operator on $api (database: $dir/operator-db, log: $dir/operator.log)"
  PLASMA_PRIVATE_KEY=$key "$bin" \
    --l1-rpc "$l1" --root-chain "$root_chain" --db "$dir/operator-db" \
    --listen "127.0.0.1:$port" --l1-confirmations 0 --l1-poll-interval 500ms "$@" \
    >"$dir/operator.log" 2>&1 &
  operator_pid=$!
  pids+=("$operator_pid")
  echo "$operator_pid" >"$dir/operator.pid"
  for _ in $(seq 100); do
    http_ok "$api/v1/status" && break
    kill -0 "$operator_pid" 2>/dev/null || die "the operator exited (see $dir/operator.log)"
    sleep 0.1
  done
  http_ok "$api/v1/status" || die "the operator's API does not answer (see $dir/operator.log)"
}
