"""Handler tests: moto-backed AWS, the six Lambda entry points and their shared code."""
