from smtprelay.cli import main

raise SystemExit(main())
