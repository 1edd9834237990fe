from ablab.report.cli import main

main()
