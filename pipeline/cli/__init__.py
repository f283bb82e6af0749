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
    "worker": "pipeline.stream.app:worker_cmd",
    "connect": "pipeline.cli.sources:connect_cmd",
    "sources": "pipeline.cli.sources:sources_group",
    "process": "pipeline.cli.process:process_cmd",
    "search": "pipeline.cli.search:search_cmd",
    "kibana": "pipeline.cli.kibana:kibana_group",
    "tail": "pipeline.cli.ops:tail_cmd",
    "status": "pipeline.cli.ops:status_cmd",
    "replay": "pipeline.cli.ops:replay_cmd",
    "deadletter": "pipeline.cli.ops:deadletter_group",
    "bench": "benchmarks.bench:bench_cmd",
}


class LazyGroup(click.Group):
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
