from sre.cli.main import main

main()
