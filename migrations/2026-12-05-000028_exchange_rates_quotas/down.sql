DROP TABLE quotas;
DROP FUNCTION rate_on(bpchar, date);
DROP TABLE exchange_rates;
