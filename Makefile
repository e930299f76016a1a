.PHONY: setup demo test dist report-screenshot
setup:
	bash scripts/setup.sh
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
dist:
	bash scripts/dist.sh
report-screenshot:
	bash scripts/setup.sh
	.venv/bin/python bench/report_screenshot.py $(ARGS)
