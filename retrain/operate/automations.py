"""The loop's Prefect automations as code: deployments/automations/automations.yaml, validated,
expanded per model, and applied by name (create or update; duplicates of a name removed), so
deploying twice leaves one of each."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from retrain.config import ModelConfig
from retrain.sinks.events import EVENT_NAMES, PREFIX, RETRAIN_REQUESTED

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.events.schemas.automations import AutomationCore

AUTOMATIONS_FILE = Path("deployments") / "automations" / "automations.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Notify(_Strict):
    subject: str
    body: str


class RunDeployment(_Strict):
    deployment: str = Field(description="flow/deployment name; {model} is the model's name")
    parameters: dict[str, Any] = Field(default_factory=dict)


class AutomationSpec(_Strict):
    name: str
    description: str = ""
    events: list[str] = Field(min_length=1)
    per_model: bool = False
    notify: Notify | None = None
    run_deployment: RunDeployment | None = None

    @model_validator(mode="after")
    def _one_action(self) -> AutomationSpec:
        if (self.notify is None) == (self.run_deployment is None):
            raise ValueError(
                f"automation {self.name!r}: give exactly one of notify, run_deployment"
            )
        known = {*EVENT_NAMES, RETRAIN_REQUESTED}
        unknown = [e for e in self.events if e not in known]
        if unknown:
            raise ValueError(f"automation {self.name!r}: unknown events {unknown} (docs/events.md)")
        if self.per_model != ("{model}" in self.name):
            raise ValueError(
                f"automation {self.name!r}: per_model and a {{model}} in the name go together"
            )
        return self


class AutomationsFile(_Strict):
    notify_blocks: list[str] = Field(default_factory=list)
    automations: list[AutomationSpec]


def load_automations(path: Path) -> AutomationsFile:
    """The automations file, validated; a bad file is one error naming it and the field."""
    try:
        return AutomationsFile.model_validate(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"invalid automations file {path}: {exc}") from None


def notify_slugs(spec: AutomationsFile, configs: list[ModelConfig]) -> list[str]:
    """The notification blocks to use: the file's, then each config's Slack block, once each."""
    slugs = [*spec.notify_blocks]
    slugs += [
        f"slack-incoming-webhook/{c.alerts.slack_webhook_block}"
        for c in configs
        if c.alerts.slack_webhook_block
    ]
    return list(dict.fromkeys(slugs))


def expand(
    spec: AutomationsFile, configs: list[ModelConfig]
) -> list[tuple[AutomationSpec, str | None]]:
    """Every automation to apply, with the model it is for (None: every model)."""
    out: list[tuple[AutomationSpec, str | None]] = []
    for item in spec.automations:
        if item.per_model:
            out += [(item, c.name) for c in sorted(configs, key=lambda c: c.name)]
        else:
            out.append((item, None))
    return out


def build(
    item: AutomationSpec, model: str | None, block_ids: list[Any], deployment_id: Any | None
) -> AutomationCore:
    """The Prefect automation of one spec: an event trigger on the model's resource (every
    model's when `model` is None) and its actions."""
    from prefect.events.actions import RunDeployment as RunDeploymentAction
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    resource = f"{PREFIX}.{model}" if model else f"{PREFIX}.*"
    actions: list[Any] = []
    if item.notify is not None:
        actions = [
            SendNotification(
                block_document_id=b, subject=item.notify.subject, body=item.notify.body
            )
            for b in block_ids
        ]
    elif item.run_deployment is not None:
        actions = [
            RunDeploymentAction(
                source="selected",
                deployment_id=deployment_id,
                parameters={**item.run_deployment.parameters, "model": model},
                job_variables=None,
            )
        ]
    name = item.name.replace("{model}", model or "")
    return AutomationCore(
        name=name,
        description=item.description.replace("{model}", model or ""),
        enabled=True,
        tags=["retrain-loop"],
        trigger=EventTrigger(
            expect=set(item.events),
            match={"prefect.resource.id": resource},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=actions,
    )


def apply_automations(
    client: SyncPrefectClient, spec: AutomationsFile, configs: list[ModelConfig]
) -> list[str]:
    """Create or update every automation by name (extra copies of a name deleted); returns a
    line per automation saying what was done or why it was not applied."""
    from prefect.exceptions import ObjectNotFound

    blocks, lines = [], []
    for slug in notify_slugs(spec, configs):
        block_type, _, block_name = slug.partition("/")
        try:
            blocks.append(
                client.read_block_document_by_name(block_name, block_type, include_secrets=False).id
            )
        except ObjectNotFound:
            lines.append(f"  notification block {slug} not found: not used")
    for item, model in expand(spec, configs):
        deployment_id = None
        if item.run_deployment is not None:
            target = item.run_deployment.deployment.replace("{model}", model or "")
            try:
                deployment_id = client.read_deployment_by_name(target).id
            except ObjectNotFound:
                lines.append(f"  automation {item.name!r} not applied: no deployment {target}")
                continue
        if item.notify is not None and not blocks:
            lines.append(f"  automation {item.name!r} not applied: no notification block")
            continue
        automation = build(item, model, blocks, deployment_id)
        existing = client.read_automations_by_name(automation.name)
        if existing:
            client.update_automation(existing[0].id, automation)
            for extra in existing[1:]:
                client.delete_automation(extra.id)
            lines.append(f"  updated automation {automation.name}")
        else:
            client.create_automation(automation)
            lines.append(f"  created automation {automation.name}")
    return lines
