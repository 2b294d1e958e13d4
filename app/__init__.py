"""CoSwap application layer: settings, services, queue tasks, CLI and UI."""
