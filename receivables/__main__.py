from receivables.cli import main

raise SystemExit(main())
