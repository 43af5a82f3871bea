"""A Docker Swarm: `swarm init` on the manager, workers joined with a secret token.

Each step is a pulumi-command `local.Command` running the docker CLI against one
engine's URL (DOCKER_HOST): unix:// and tcp:// directly, ssh:// through the docker
CLI's own SSH transport (keys from the user's ssh config or agent), so the same
scripts drive a laptop and remote hosts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_command as command

from components.options import child_options, component_options

MANAGER_PORT = 2377
DRAIN_TIMEOUT_SECONDS = 180
_NODE_STATE = "docker info --format '{{.Swarm.LocalNodeState}}'"

# What the create step says on stderr when this stack made the engine a swarm node: the delete step
# reads it back (PULUMI_COMMAND_STDERR) and leaves only a swarm the stack itself made, never one that
# was there before, with whatever else runs on it.
MADE_BY_THIS_STACK = "made a swarm node by this stack"
# The same, kept on the node itself (a node label, set through a manager): a `pulumi up` killed after
# `swarm init` or `join` ran but before Pulumi recorded the command leaves no stderr behind, and the
# create that runs again (scripts/recover) finds a member; the label says whose it is.
OWNER_LABEL = "orchestration.swarm-made-by"
_NODE_ID = "docker info --format '{{.Swarm.NodeID}}'"


def _member_script(become_member: str, manager: str) -> str:
    """Makes the engine a swarm node unless it is one, and says so when this stack ($SWARM_OWNER) made it.

    `manager` prefixes the docker commands that must reach a manager ('' on the manager itself).
    Idempotent: an engine already in a swarm is left as it is.
    """
    return f"""set -eu
if [ "$({_NODE_STATE})" != active ]; then
  # A subshell, its own process: a killed `pulumi up` kills the shell running this script but not
  # its children, and a node that became a member must still get its label.
  (
    trap '' INT TERM HUP
    {become_member}
    node_id="$({_NODE_ID})"
    {manager}docker node update --label-add "{OWNER_LABEL}=$SWARM_OWNER" "$node_id" >/dev/null
  )
fi
node_id="$({_NODE_ID})"
owner="$({manager}docker node inspect --format '{{{{index .Spec.Labels "{OWNER_LABEL}"}}}}' "$node_id")"
if [ "$owner" = "$SWARM_OWNER" ]; then
  echo "{MADE_BY_THIS_STACK}" >&2
else
  case "${{PULUMI_COMMAND_STDERR:-}}" in
    *"{MADE_BY_THIS_STACK}"*)
      # Made by this stack before its nodes were labelled: label it now.
      {manager}docker node update --label-add "{OWNER_LABEL}=$SWARM_OWNER" "$node_id" >/dev/null
      echo "{MADE_BY_THIS_STACK}" >&2
      ;;
  esac
fi
echo "$node_id"
"""


# `swarm init` prints the worker join command, token included, and a command's output is logged and
# kept in the state: drop it.
INIT_SCRIPT = _member_script('docker swarm init --advertise-addr "$SWARM_ADVERTISE_ADDR" >/dev/null', manager="")


def _only_if_made_here(commands: str) -> str:
    return f"""case "${{PULUMI_COMMAND_STDERR:-}}" in
  *"{MADE_BY_THIS_STACK}"*)
{commands}
    ;;
  *) echo "was a swarm node before this stack: left as it is" >&2 ;;
esac
"""


# What else a swarm holds once this stack's own services, networks, secrets and configs are gone (they are
# ordered after the init, so a destroy deletes them first): another stack's, on the same engine.
_OTHERS_ON_THE_SWARM = (
    "docker service ls --format 'service {{.Name}}'; docker secret ls --format 'secret {{.Name}}'; "
    "docker config ls --format 'config {{.Name}}'; "
    "docker network ls --filter scope=swarm --format 'network {{.Name}}' | grep -vx 'network ingress' || true"
)
# The manager's destroy. Several stacks on one engine share its swarm: whichever made it, the last one out
# leaves it, once nothing of any stack's runs on it; one that was a swarm before any stack (no owner label)
# is never left.
LEAVE_SCRIPT = f"""set -eu
if [ "$({_NODE_STATE})" != active ]; then exit 0; fi
case "${{PULUMI_COMMAND_STDERR:-}}" in
  *"{MADE_BY_THIS_STACK}"*) ;;
  *)
    owner="$(docker node inspect --format '{{{{index .Spec.Labels "{OWNER_LABEL}"}}}}' "$({_NODE_ID})")"
    case "$owner" in
      ""|"<no value>") echo "was a swarm node before this stack: left as it is" >&2; exit 0 ;;
    esac
    ;;
esac
others="$({_OTHERS_ON_THE_SWARM})"
if [ -n "$others" ]; then
  echo "the swarm still runs another stack's work, left for it:" $others >&2
  exit 0
fi
docker swarm leave --force >&2
"""
TOKEN_SCRIPT = "docker swarm join-token --quiet worker"
# A worker can't label itself: its label goes on through the manager.
JOIN_SCRIPT = _member_script(
    'docker swarm join --token "$SWARM_TOKEN" "$SWARM_MANAGER" >&2', manager='DOCKER_HOST="$SWARM_MANAGER_DOCKER_HOST" '
)
# Autolock: a restarted manager keeps the swarm's keys encrypted until `docker swarm unlock` is given
# this key, which the command prints (and only that: its output is a secret).
AUTOLOCK_SCRIPT = """set -eu
docker swarm update --autolock=true >/dev/null
docker swarm unlock-key --quiet
"""
AUTOLOCK_OFF_SCRIPT = "docker swarm update --autolock=false >/dev/null 2>&1 || true"
# A worker the stack joined leaves, then the manager forgets it, so `docker node ls` stays clean.
WORKER_LEAVE_SCRIPT = "set -u\n" + _only_if_made_here(
    f'    if [ "$({_NODE_STATE})" = active ]; then docker swarm leave >&2; fi\n'
    '    DOCKER_HOST="$SWARM_MANAGER_DOCKER_HOST" docker node rm --force "$PULUMI_COMMAND_STDOUT" >&2 || true'
)


# Run on the manager for one node. The labels this stack set before (its previous stdout) and no
# longer declares go, the declared ones are set; a drain returns once no task is meant to run there.
NODE_SCRIPT = f"""set -eu
for key in ${{PULUMI_COMMAND_STDOUT:-}}; do
  case " $NODE_LABEL_KEYS " in *" $key "*) ;; *) docker node update --label-rm "$key" "$NODE_ID" >/dev/null 2>&1 || true ;; esac
done
printf '%s\\n' "$NODE_LABELS" | while IFS= read -r label; do
  if [ -n "$label" ]; then docker node update --label-add "$label" "$NODE_ID" >/dev/null; fi
done
docker node update --availability "$NODE_AVAILABILITY" "$NODE_ID" >/dev/null
if [ "$NODE_AVAILABILITY" = drain ]; then
  waited=0
  while [ -n "$(docker node ps "$NODE_ID" --filter desired-state=running --quiet)" ]; do
    if [ "$waited" -ge {DRAIN_TIMEOUT_SECONDS} ]; then
      echo "node $NODE_NAME still has tasks {DRAIN_TIMEOUT_SECONDS}s after it was drained" >&2
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
fi
echo "$NODE_LABEL_KEYS"
"""
# Nothing declared for the node any more: it gets its tasks again and loses our labels (if it is still there).
NODE_RESET_SCRIPT = """set -u
for key in ${PULUMI_COMMAND_STDOUT:-}; do docker node update --label-rm "$key" "$NODE_ID" >/dev/null 2>&1 || true; done
docker node update --availability active "$NODE_ID" >/dev/null 2>&1 || true
"""


@dataclass(frozen=True)
class SwarmNode:
    """A swarm member: its name and the URL of its Docker engine."""

    name: str
    docker_url: str
    labels: Mapping[str, str] = field(default_factory=dict)
    """Node labels, for placement constraints (`node.labels.<key>==<value>`) and spread."""
    drain: bool = False
    """Availability `drain`: its tasks move to the other nodes and none comes back until it is undrained."""


@dataclass(frozen=True)
class SwarmClusterArgs:
    manager: SwarmNode
    advertise_address: str
    """The manager's address, which workers join at."""
    workers: Sequence[SwarmNode] = ()
    autolock: bool = False
    """Lock the managers' keys at rest; `unlock_key` unlocks a restarted manager."""


class SwarmCluster(pulumi.ComponentResource):
    manager_node_id: pulumi.Output[str]
    worker_token: pulumi.Output[str]
    """Secret: whoever has it can join the swarm."""
    ready: tuple[command.local.Command, ...]
    """Services depend on these: the manager's init, every worker's join and every node's labels."""
    worker_node_ids: pulumi.Output[dict[str, str]]
    unlock_key: Optional[pulumi.Output[str]]
    """Secret, with autolock: what `docker swarm unlock` asks for after a manager restarts; None without."""

    def __init__(self, name: str, args: SwarmClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:swarm:SwarmCluster", name, None, component_options(opts))
        # What OWNER_LABEL holds on the nodes this stack makes: which stack of which project made them.
        owner = f"{pulumi.get_project()}/{pulumi.get_stack()}"
        init = command.local.Command(
            f"{name}-init",
            create=INIT_SCRIPT,
            delete=LEAVE_SCRIPT,
            environment={
                "DOCKER_HOST": args.manager.docker_url,
                "SWARM_ADVERTISE_ADDR": args.advertise_address,
                "SWARM_OWNER": owner,
            },
            interpreter=["/bin/sh", "-c"],
            opts=child_options(self, opts),
        )
        token = command.local.Command(
            f"{name}-worker-token",
            create=TOKEN_SCRIPT,
            environment={"DOCKER_HOST": args.manager.docker_url},
            # The token is a credential: never shown in logs, stored encrypted.
            logging=command.local.Logging.STDERR,
            triggers=[init.stdout],
            opts=child_options(self, opts, additional_secret_outputs=["stdout"]),
        )
        self.worker_token = pulumi.Output.secret(token.stdout)
        joins = {
            worker.name: command.local.Command(
                f"{name}-join-{worker.name}",
                create=JOIN_SCRIPT,
                delete=WORKER_LEAVE_SCRIPT,
                environment={
                    "DOCKER_HOST": worker.docker_url,
                    "SWARM_MANAGER_DOCKER_HOST": args.manager.docker_url,
                    "SWARM_MANAGER": f"{args.advertise_address}:{MANAGER_PORT}",
                    "SWARM_TOKEN": self.worker_token,
                    "SWARM_OWNER": owner,
                },
                interpreter=["/bin/sh", "-c"],
                # A new swarm (manager replaced) must be joined again.
                triggers=[init.stdout],
                opts=child_options(self, opts),
            )
            for worker in args.workers
        }
        node_ids = {args.manager.name: init.stdout, **{worker: join.stdout for worker, join in joins.items()}}
        settings = [
            command.local.Command(
                f"{name}-node-{node.name}",
                create=NODE_SCRIPT,
                delete=NODE_RESET_SCRIPT,
                environment={
                    "DOCKER_HOST": args.manager.docker_url,
                    "NODE_NAME": node.name,
                    "NODE_ID": node_ids[node.name],
                    "NODE_LABELS": "\n".join(f"{key}={value}" for key, value in sorted(node.labels.items())),
                    "NODE_LABEL_KEYS": " ".join(sorted(node.labels)),
                    "NODE_AVAILABILITY": "drain" if node.drain else "active",
                },
                interpreter=["/bin/sh", "-c"],
                opts=child_options(self, opts),
            )
            # Only nodes with something declared: taking the resource away resets the node.
            for node in (args.manager, *args.workers)
            if node.labels or node.drain
        ]
        self.unlock_key = None
        if args.autolock:
            autolock = command.local.Command(
                f"{name}-autolock",
                create=AUTOLOCK_SCRIPT,
                delete=AUTOLOCK_OFF_SCRIPT,
                environment={"DOCKER_HOST": args.manager.docker_url},
                interpreter=["/bin/sh", "-c"],
                logging=command.local.Logging.STDERR,
                triggers=[init.stdout],
                opts=child_options(self, opts, additional_secret_outputs=["stdout"]),
            )
            self.unlock_key = pulumi.Output.secret(autolock.stdout)
        self.ready = (init, *joins.values(), *settings)
        self.manager_node_id = init.stdout
        self.worker_node_ids = pulumi.Output.from_input({worker: join.stdout for worker, join in joins.items()})
        self.register_outputs({"manager_node_id": self.manager_node_id, "worker_node_ids": self.worker_node_ids})
