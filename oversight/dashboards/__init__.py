"""Operator dashboards: where each agent is strong or weak, and whether what it learned helped.

- selectors: reads (overview figures, heatmap grid, skill and agent pages)
- progress: reads for one agent on one skill (the drill-down)
- timeline: an attempt's trace as a readable timeline with the decision points marked
- charts: plotly figures as JSON (the heatmap sent compactly)
- stats: success rates with Wilson intervals, z-test and Fisher's exact test
- forms, views: the pages (thin)
- staticfinder: serves the plotly.js the plotly package ships as static/vendor/plotly.min.js
"""
