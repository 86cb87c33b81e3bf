"""The AWS provider of the stack: the environment's region and default tags.

Region and tags come from the environment (``StackInputs``), not from the stack
file, so Terraform and Pulumi always agree. Every AWS resource and data-source
call of the program uses this provider: resources through a stack
transformation, calls through :func:`invoke_options`.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from stack.inputs import StackInputs

_PROVIDER: list[aws.Provider] = []


def use_environment_provider(inputs: StackInputs) -> aws.Provider:
    """Create the provider and make it the one of every AWS resource declared after."""
    provider = aws.Provider(
        "aws-environment",
        region=inputs.region,
        default_tags={"tags": inputs.default_tags},
    )
    _PROVIDER[:] = [provider]

    def attach(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
        if args.type_.startswith("aws:") and args.opts.provider is None:
            args.opts.provider = provider
        return pulumi.ResourceTransformationResult(args.props, args.opts)

    pulumi.runtime.register_stack_transformation(attach)
    return provider


def invoke_options() -> pulumi.InvokeOptions:
    """Options that send a data-source call through the environment's provider."""
    return pulumi.InvokeOptions(provider=_PROVIDER[0] if _PROVIDER else None)
