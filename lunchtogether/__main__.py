from lunchtogether.cli import main

main()
