from cardworld.cli import main

main()
