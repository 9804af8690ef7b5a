// Integration tests wait on real brokers and databases: give them room (the unit tier keeps 5 s).
jest.setTimeout(120_000);
