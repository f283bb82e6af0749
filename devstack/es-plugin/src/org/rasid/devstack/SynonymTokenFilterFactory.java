package org.rasid.devstack;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.synonym.SolrSynonymParser;
import org.apache.lucene.analysis.synonym.SynonymFilter;
import org.apache.lucene.analysis.synonym.SynonymGraphFilter;
import org.apache.lucene.analysis.synonym.SynonymMap;
import org.apache.lucene.analysis.synonym.WordnetSynonymParser;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexService.IndexCreationContext;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.CharFilterFactory;
import org.elasticsearch.index.analysis.CustomAnalyzer;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;

import java.io.IOException;
import java.io.StringReader;
import java.util.List;
import java.util.function.Function;

/**
 * The "synonym" and "synonym_graph" token filters. As in Elasticsearch, the rules are analysed by the
 * part of the chain that precedes the filter (tokenizer, char filters, earlier token filters), so a rule
 * written in any spelling folds exactly like the text it is applied to. Settings: {@code synonyms} or
 * {@code synonyms_path}, {@code format} (solr|wordnet), {@code expand}, {@code lenient}.
 */
class SynonymTokenFilterFactory extends AbstractTokenFilterFactory {

    private final List<String> rules;
    private final boolean graph;
    private final boolean expand;
    private final boolean lenient;
    private final String format;

    SynonymTokenFilterFactory(Environment env, String name, Settings settings, boolean graph) {
        super(name, settings);
        this.graph = graph;
        this.rules = Analysis.getWordList(env, settings, "synonyms");
        if (rules == null) {
            throw new IllegalArgumentException("synonym requires either `synonyms` or `synonyms_path` to be configured");
        }
        this.expand = settings.getAsBoolean("expand", true);
        this.lenient = settings.getAsBoolean("lenient", false);
        this.format = settings.get("format", "");
    }

    @Override
    public TokenStream create(TokenStream tokenStream) {
        throw new IllegalStateException("Call getChainAwareTokenFilterFactory to specialize this factory for an analysis chain first");
    }

    @Override
    public TokenFilterFactory getChainAwareTokenFilterFactory(
        IndexCreationContext context,
        TokenizerFactory tokenizer,
        List<CharFilterFactory> charFilters,
        List<TokenFilterFactory> previousTokenFilters,
        Function<String, TokenFilterFactory> allFilters
    ) {
        Analyzer parsing = new CustomAnalyzer(
            tokenizer,
            charFilters.toArray(new CharFilterFactory[0]),
            previousTokenFilters.stream().map(TokenFilterFactory::getSynonymFilter).toArray(TokenFilterFactory[]::new)
        );
        final SynonymMap map = buildMap(parsing);
        final String name = name();
        final boolean graphFilter = graph;
        return new TokenFilterFactory() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public TokenStream create(TokenStream tokenStream) {
                if (map.fst == null) {
                    return tokenStream; // no rules: nothing to do
                }
                return graphFilter ? new SynonymGraphFilter(tokenStream, map, false) : new SynonymFilter(tokenStream, map, false);
            }

            @Override
            public TokenFilterFactory getSynonymFilter() {
                // a later synonym filter must not see this one's expansions while parsing its rules
                return IDENTITY_FILTER;
            }
        };
    }

    private SynonymMap buildMap(Analyzer analyzer) {
        try {
            SynonymMap.Parser parser = "wordnet".equals(format)
                ? new WordnetSynonymParser(true, expand, analyzer)
                : new SolrSynonymParser(true, expand, analyzer);
            if (lenient) {
                for (String rule : rules) {
                    try {
                        parser.parse(new StringReader(rule));
                    } catch (Exception e) {
                        // lenient: a rule that analyses to nothing (e.g. only stop words) is skipped
                    }
                }
            } else {
                parser.parse(new StringReader(String.join("\n", rules)));
            }
            return parser.build();
        } catch (IOException | java.text.ParseException e) {
            throw new IllegalArgumentException("failed to build synonyms for [" + name() + "]: " + e.getMessage(), e);
        }
    }
}
