from lstm_viz.cli import main

raise SystemExit(main())
