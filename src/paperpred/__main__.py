from paperpred.cli.main import main

raise SystemExit(main())
