DROP TABLE settings;
DROP TABLE articles;
DROP TABLE classes;
DROP TABLE funnel_members;
DROP TABLE funnel_stages;
DROP TABLE funnels;
DROP TABLE lost_reasons;
DROP TABLE stages;
