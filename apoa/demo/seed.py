DEMO_PASSWORD = "x"
def seed_demo(report_count): pass
