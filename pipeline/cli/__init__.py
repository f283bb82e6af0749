"""The ``rasid`` command. Each subcommand lives in its own module and is imported
only when used, so ``rasid process`` never pays for faust or Kafka imports."""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command or group
COMMANDS: dict[str, str] = {
    "devstack": "pipeline.cli.devstack:devstack",
    "init": "pipeline.cli.init:init_cmd",
    "run": "pipeline.cli.run:run_cmd",
    "worker": "pipeline.cli.worker:worker_cmd",
    "connect": "pipeline.cli.connect:connect_cmd",
    "sources": "pipeline.cli.sources:sources_group",
    "process": "pipeline.cli.process:process_cmd",
    "search": "pipeline.cli.search:search_cmd",
    "stories": "pipeline.cli.stories:stories_cmd",
    "kibana": "pipeline.cli.kibana:kibana_group",
    "tail": "pipeline.cli.tail:tail_cmd",
    "status": "pipeline.cli.status:status_cmd",
    "replay": "pipeline.cli.replay:replay_cmd",
    "deadletter": "pipeline.cli.deadletter:deadletter_group",
    "alerts": "pipeline.cli.alerts:alerts_group",
    "demo": "pipeline.cli.demo:demo_cmd",
    "bench": "benchmarks.bench:bench_cmd",
}


class LazyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        from pipeline.core.errors import OperatorError

        try:
            return super().invoke(ctx)
        except OperatorError as e:  # Kafka/Elasticsearch missing or refusing: the message says what to do
            err = click.ClickException(str(e))
            err.exit_code = 2
            raise err from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name and module.startswith(e.name):
                raise click.ClickException(f"'rasid {name}' is not available in this build ({module} missing)")
            raise
        return getattr(mod, attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rasid")
def main() -> None:
    """Rasid (راصد): monitor Arabic news about Syria, from outlets to Elasticsearch."""


if __name__ == "__main__":
    main()
