"""Allow ``python -m medkg``."""

from medkg.cli import main

if __name__ == "__main__":
    main()
