from seqctl.cli import main

raise SystemExit(main())
