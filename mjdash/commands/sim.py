"""`mjdash sim`: the simulator in the foreground (imported only when the command runs)."""

from __future__ import annotations

import argparse

from mjdash.commands.common import EXIT_OK, Fail, Session


def cmd_sim(args: argparse.Namespace, session: Session) -> int:
    from mjdash.sim.faults import FaultSpecError
    from mjdash.sim.server import run_sim

    try:
        run_sim(
            host=args.host,
            port=args.port,
            speed=args.speed,
            tasks=args.tasks,
            key=args.key,
            faults=args.faults,
            seed=args.seed,
            demo=args.demo,
            hostile=args.hostile,
            flavor=args.flavor,
            image_size=getattr(args, "image_size", 128),
            image_format=getattr(args, "image_format", "png"),
        )
    except FaultSpecError as exc:
        raise Fail(f"--faults: {exc}") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise Fail(f"cannot serve on {args.host}:{args.port}: {reason}") from None
    except KeyboardInterrupt:
        pass  # Ctrl+C is how the simulator stops
    return EXIT_OK
