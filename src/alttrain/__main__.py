from alttrain.cli import main

raise SystemExit(main())
